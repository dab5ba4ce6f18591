import { CONFIG_KEYS, loadConfig, type ServiceConfig } from './config.js';

let last: { readonly fingerprint: string; readonly config: ServiceConfig } | undefined;

/**
 * The configuration the deployed handlers run with: `process.env`, validated. The one place that
 * reads the environment for the service's settings. Read again only when a setting changed (the
 * local stack points this process at new resources), so a new environment gets new dependencies.
 */
export const environmentConfig = (env: NodeJS.ProcessEnv = process.env): ServiceConfig => {
  const fingerprint = JSON.stringify(CONFIG_KEYS.map((key) => env[key] ?? null));
  if (last?.fingerprint !== fingerprint) last = { fingerprint, config: loadConfig(env) };
  return last.config;
};
