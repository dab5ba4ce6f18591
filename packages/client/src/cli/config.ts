import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `audit-trail login` saves. */
export interface SavedLogin {
  readonly endpoint: string;
  readonly token: string;
}

/** The endpoint and token a command uses, and where each came from. */
export interface Target {
  readonly endpoint: string;
  readonly token: string | undefined;
  readonly source: 'flag' | 'env' | 'config' | 'local stack';
}

/** The config file: `$XDG_CONFIG_HOME/audit-trail/config.json`, else `~/.config/audit-trail/config.json`. */
export const configFile = (env: NodeJS.ProcessEnv = process.env): string =>
  join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'audit-trail', 'config.json');

/** Saves a login readable by its owner only (file 0600, folder 0700). */
export const saveLogin = (login: SavedLogin, env: NodeJS.ProcessEnv = process.env): string => {
  const file = configFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already existed.
  chmodSync(file, 0o600);
  return file;
};

/** Forgets the saved login; true when there was one. */
export const removeLogin = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const file = configFile(env);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
};

const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
};

const readLogin = (env: NodeJS.ProcessEnv): Partial<SavedLogin> => {
  const value = readJson(configFile(env));
  if (typeof value !== 'object' || value === null) return {};
  const { endpoint, token } = value as Record<string, unknown>;
  return {
    ...(typeof endpoint === 'string' ? { endpoint } : {}),
    ...(typeof token === 'string' ? { token } : {}),
  };
};

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The local stack `npm start` is running, found from `cwd` upwards: its URL from
 * `.local/endpoints.json` (written while it runs) and the demo token from `.local/demo-token`.
 */
export const localStack = (
  cwd: string = process.cwd(),
): { endpoint: string; token: string | undefined } | undefined => {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const endpoints = readJson(join(dir, '.local', 'endpoints.json'));
    if (typeof endpoints === 'object' && endpoints !== null) {
      const { url, pid } = endpoints as Record<string, unknown>;
      if (typeof url === 'string' && typeof pid === 'number' && isRunning(pid)) {
        let token: string | undefined;
        try {
          token = readFileSync(join(dir, '.local', 'demo-token'), 'utf8').trim() || undefined;
        } catch {
          token = undefined;
        }
        return { endpoint: url, token };
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
};

const sameEndpoint = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/**
 * Where a command goes: `--endpoint`/`--token`, else AUDIT_TRAIL_ENDPOINT/AUDIT_TRAIL_TOKEN, else
 * the saved login, else the local stack. A token is only taken from the login or the local stack
 * when its endpoint is the one chosen, so one place's token is never sent to another.
 */
export const resolveTarget = (
  flags: { endpoint?: string | undefined; token?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Target | undefined => {
  const login = readLogin(env);
  const local = localStack(cwd);
  const candidates: [Target['source'], string | undefined][] = [
    ['flag', flags.endpoint],
    ['env', env.AUDIT_TRAIL_ENDPOINT || undefined],
    ['config', login.endpoint],
    ['local stack', local?.endpoint],
  ];
  const chosen = candidates.find(([, value]) => value !== undefined);
  if (!chosen?.[1]) return undefined;
  const [source, endpoint] = chosen;
  const token =
    flags.token ??
    (env.AUDIT_TRAIL_TOKEN || undefined) ??
    (login.endpoint !== undefined && sameEndpoint(login.endpoint, endpoint) ? login.token : undefined) ??
    (local !== undefined && sameEndpoint(local.endpoint, endpoint) ? local.token : undefined);
  return { endpoint, token, source };
};
