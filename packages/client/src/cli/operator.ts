import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { UsageError } from './context.js';

/** What scripts/tokens.ts exports (the code behind `npm run tokens`). */
interface TokensModule {
  tokensProgram(): Command;
}

/** The service repository this package sits in, found from this file upwards; undefined when installed alone. */
const serviceRepository = (): string | undefined => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'tokens.ts')) && existsSync(join(dir, 'lambdas'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
};

/**
 * Runs `npm run tokens`'s own program (scripts/tokens.ts) with these arguments. Token and kore app
 * management writes the control table directly, so it needs the service's repository (and AWS
 * credentials with CONTROL_TABLE for a deployment); it is not part of the published client.
 */
const runTokensProgram = async (args: readonly string[]): Promise<void> => {
  const repository = serviceRepository();
  if (!repository) {
    throw new UsageError(
      'Token commands manage the control table directly: run them from a checkout of the Audit Trail Service (npm run tokens).',
    );
  }
  // The script is TypeScript: load it through tsx (a dependency of the repository) when running built JS.
  if (!process.execArgv.some((arg) => arg.includes('tsx')) && !process.env.AUDIT_TRAIL_TSX) {
    const { register } = (await import('tsx/esm/api')) as { register(): unknown };
    register();
  }
  quietNodeVersionWarning();
  // scripts/tokens.ts finds the running local stack through .local/ in the repository.
  process.chdir(repository);
  const tokens = (await import(pathToFileURL(join(repository, 'scripts', 'tokens.ts')).href)) as TokensModule;
  await tokens.tokensProgram().parseAsync([...args], { from: 'user' });
};

/**
 * The AWS SDK warns that its 2027 releases need Node.js 22; `npm run tokens` hides that with
 * `--no-warnings=NodeVersionSupportWarning`, which a bin cannot pass to its own node, so drop it here.
 */
const quietNodeVersionWarning = (): void => {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning instanceof Error ? warning.message : warning).startsWith('NodeVersionSupportWarning'))
      return;
    (emit as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
};

const passThrough = (name: string, description: string, prefix: readonly string[]): Command =>
  new Command(name)
    .description(description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _options: unknown, command: Command) => {
      await runTokensProgram([...prefix, ...command.args]);
    });

/** `tokens create|list|revoke` and `kore-app create|list|revoke`, as `npm run tokens` runs them. */
export const operatorCommands = (): Command[] => [
  passThrough('tokens', 'manage API tokens: create|list|revoke (as npm run tokens; in the repository)', []),
  passThrough('kore-app', 'manage kore apps: create|list|revoke (as npm run tokens -- kore-app)', [
    'kore-app',
  ]),
];
