import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../lambdas/composition/config.js';
import { cursorKey } from '../../lambdas/composition/cursor-key.js';
import { coreServices, purgeStore } from '../../lambdas/composition/dynamodb.js';
import { environmentConfig } from '../../lambdas/composition/environment.js';
import { jobLauncher } from '../../lambdas/composition/job-launcher.js';
import { purgeDependencies } from '../../lambdas/composition/purge.js';

/** The composition root builds per configuration: nothing here reaches AWS (clients are lazy). */
const configOf = (overrides: Record<string, string> = {}) =>
  loadConfig({ EVENTS_TABLE: 'events-a', CONTROL_TABLE: 'control-a', ...overrides });

describe('the composition root', () => {
  it('builds once per config object, and a different config gets its own dependencies', () => {
    // Prepare
    const first = configOf();
    const second = configOf({ EVENTS_TABLE: 'events-b', PURGE_PART_ENTRIES: '7' });

    // Act
    const again = coreServices(first);
    const other = coreServices(second);

    // Assess
    expect(coreServices(first)).toBe(again);
    expect(purgeStore(first)).toBe(purgeStore(first));
    expect(other).not.toBe(again);
    expect(other.config.EVENTS_TABLE).toBe('events-b');
    expect(purgeDependencies(second).partEntries).toBe(7);
    expect(purgeDependencies(first).partEntries).toBe(10_000);
  });

  it('reads the environment again only when a setting changed', () => {
    // Prepare
    const env = { EVENTS_TABLE: 'events-a', CONTROL_TABLE: 'control-a', UNRELATED: 'x' };

    // Act
    const first = environmentConfig(env);
    const same = environmentConfig({ ...env, UNRELATED: 'y' });
    const changed = environmentConfig({ ...env, CONTROL_TABLE: 'control-b' });

    // Assess
    expect(same).toBe(first);
    expect(changed).not.toBe(first);
    expect(changed.CONTROL_TABLE).toBe('control-b');
  });

  it('refuses an in-process launcher nobody installed instead of invoking AWS', () => {
    // Act
    const launch = () => jobLauncher(configOf({ JOB_LAUNCHER: 'in-process' }));

    // Assess
    expect(launch).toThrow('only the local stack');
  });

  it('reads the cursor key once per config and tries again after a failed read', async () => {
    // Prepare
    const key = Buffer.alloc(32, 7).toString('base64');
    const good = configOf({ CURSOR_KEY: key });
    const bad = configOf({ CURSOR_KEY: Buffer.alloc(8).toString('base64') });

    // Act
    const read = cursorKey(good);

    // Assess
    expect(cursorKey(good)).toBe(read);
    expect(Buffer.from(await read)).toEqual(Buffer.alloc(32, 7));
    const failed = cursorKey(bad);
    await expect(failed).rejects.toThrow('at least 32 bytes');
    expect(cursorKey(bad)).not.toBe(failed);
    await expect(cursorKey(bad)).rejects.toThrow('at least 32 bytes');
  });
});
