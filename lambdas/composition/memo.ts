import type { ServiceConfig } from './config.js';

/**
 * `build`, memoised per configuration: the first call with a config builds, later calls with that
 * same config object get the same value, and another config gets its own (never the first one's).
 * A value that fails to build is not remembered, so the next call tries again.
 */
export const perConfig = <T>(build: (config: ServiceConfig) => T): ((config: ServiceConfig) => T) => {
  const built = new WeakMap<ServiceConfig, T>();
  return (config) => {
    if (built.has(config)) return built.get(config) as T;
    const value = build(config);
    built.set(config, value);
    return value;
  };
};
