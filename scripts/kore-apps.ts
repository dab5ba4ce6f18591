/**
 * `kore-app` operator commands: register, list and revoke the apps whose client secrets sign the
 * kore dialect's JWTs.
 *
 *   kore-app create --tenant T [--name N] [--scopes read]   prints the app id and secret, once
 *   kore-app list --tenant T                                 never prints secrets
 *   kore-app revoke --tenant T --app-id cs-…
 *
 * Mounted by scripts/tokens.ts (`program.addCommand(koreAppCommand())`, so `npm run tokens --
 * kore-app create --tenant T`); also runnable alone: `node --import tsx scripts/kore-apps.ts create --tenant T`.
 * Reads the same configuration as the service (EVENTS_TABLE, CONTROL_TABLE, … from the environment).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { koreAppStore, tenantStore } from '../lambdas/composition/dynamodb.js';
import { environmentConfig } from '../lambdas/composition/environment.js';
import { parseScopes } from '../lambdas/domain/scopes.js';
import type { KoreAppStore } from '../lambdas/ports/kore-app-store.js';
import type { TenantStore } from '../lambdas/ports/tenant-store.js';
import { registerKoreApp } from '../lambdas/use-cases/manage-kore-apps.js';
import { tenantOption } from './tenant-option.js';

/** What the commands need; tests pass their own. */
export interface KoreAppCommandOptions {
  readonly store?: () => Promise<KoreAppStore>;
  /** The tenant registry the app's tenant is registered in (what the retention scheduler reads). */
  readonly tenants?: () => Promise<TenantStore>;
  readonly print?: (line: string) => void;
}

/** The `kore-app` command with its `create`, `list` and `revoke` sub-commands. */
export const koreAppCommand = (options: KoreAppCommandOptions = {}): Command => {
  const store = options.store ?? (async () => koreAppStore(environmentConfig()));
  const tenants = options.tenants ?? (async () => tenantStore(environmentConfig()));
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const command = new Command('kore-app').description(
    'Manage kore apps (JWT signing credentials of /api/public/auditlogs)',
  );
  command
    .command('create')
    .description('Register a kore app; prints its app id and client secret once')
    .requiredOption('--tenant <tenant>', 'the tenant the app reads', tenantOption)
    .option('--name <name>', 'a name to recognise it by', 'kore app')
    .option('--scopes <scopes>', 'comma-separated scopes', 'read')
    .action(async (flags: { tenant: string; name: string; scopes: string }) => {
      const app = await registerKoreApp(
        await store(),
        { tenant: flags.tenant, name: flags.name, scopes: parseScopes(flags.scopes) },
        await tenants(),
      );
      print(`appId: ${app.appId}`);
      print(`clientSecret: ${app.clientSecret}`);
      print(
        'Keep the secret now: it is not shown again. Sign JWTs with it (HS256) with claims {"appId", "exp"},',
      );
      print('and send them in the "auth" header of GET /api/public/auditlogs.');
    });
  command
    .command('list')
    .description("List a tenant's kore apps (without secrets)")
    .requiredOption('--tenant <tenant>', 'the tenant', tenantOption)
    .action(async (flags: { tenant: string }) => {
      const apps = await (await store()).listApps(flags.tenant);
      if (apps.length === 0) print(`No kore apps for tenant "${flags.tenant}".`);
      for (const app of apps)
        print(`${app.appId}\t${app.name}\t${app.scopes.join(',')}\t${new Date(app.createdAt).toISOString()}`);
    });
  command
    .command('revoke')
    .description('Revoke a kore app: its JWTs stop working (within the authorizer cache time)')
    .requiredOption('--tenant <tenant>', 'the tenant', tenantOption)
    .requiredOption('--app-id <appId>', 'the app id')
    .action(async (flags: { tenant: string; appId: string }) => {
      const revoked = await (await store()).revokeApp(flags.tenant, flags.appId);
      if (!revoked) {
        command.error(`Tenant "${flags.tenant}" has no kore app ${flags.appId}`, { exitCode: 1 });
      }
      print(`Revoked ${flags.appId}.`);
    });
  return command;
};

const isMain = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  koreAppCommand()
    .parseAsync(process.argv)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    });
}
