import type { Measurement } from '../../bench/harness.js';
import { type BenchResults, figuresOf, mergeUpdate, renderReport } from '../../bench/report.js';

const measurement = (id: string, value: number, goal?: Measurement['goal']): Measurement => ({
  id,
  issue: 17,
  description: `figure ${id}`,
  value,
  unit: 'ratio',
  ...(goal ? { goal } : {}),
  details: 'details',
});

const fullRun = (started: string, values: Record<string, number>): BenchResults => ({
  started,
  quick: false,
  only: null,
  seconds: 3000,
  moduleSeconds: { fetch: 100, tlog: 200 },
  measurements: Object.entries(values).map(([id, value]) =>
    measurement(id, value, { op: '>=', target: 0.9 }),
  ),
});

describe('the bench report', () => {
  it("shows each figure beside the previous report's, and says which goals are met", () => {
    const before = fullRun('2026-11-30T00:00:00.000Z', { 'fetch.a': 1.2, 'tlog.b': 0.5 });
    const after = { ...fullRun('2026-12-01T00:00:00.000Z', { 'fetch.a': 1.3, 'tlog.b': 0.95, 'tlog.c': 2 }) };
    const report = renderReport({ ...after, previous: figuresOf(before) });
    expect(report).toContain('| 17 | figure fetch.a | 1.300 ratio | 1.200 ratio | >= 0.9 | met |');
    expect(report).toContain('| 17 | figure tlog.b | 0.950 ratio | 0.500 ratio | >= 0.9 | met |');
    // A new figure has no previous value.
    expect(report).toContain('| 17 | figure tlog.c | 2.000 ratio | — | >= 0.9 | met |');
    expect(report).toContain('(run 2026-11-30T00:00:00.000Z)');
    expect(renderReport(fullRun('x', { 'fetch.a': 0.1 }))).toContain('| **not met** |');
  });

  it("replaces one module's rows with a later run's, in place, and records the update", () => {
    const full = {
      ...fullRun('2026-12-01T00:00:00.000Z', { 'fetch.a': 1, 'tlog.b': 0.6, 'tlog.c': 3 }),
      previous: figuresOf(fullRun('2026-11-30T00:00:00.000Z', { 'tlog.b': 0.4 })),
    };
    const later: BenchResults = {
      ...fullRun('2026-12-01T02:00:00.000Z', { 'tlog.b': 0.93, 'tlog.c': 2.5 }),
      only: 'tlog',
      seconds: 250,
      moduleSeconds: { tlog: 240 },
    };
    const merged = mergeUpdate(full, 'tlog', later);
    expect(merged.measurements.map((m) => [m.id, m.value])).toEqual([
      ['fetch.a', 1],
      ['tlog.b', 0.93],
      ['tlog.c', 2.5],
    ]);
    expect(merged.moduleSeconds).toEqual({ fetch: 100, tlog: 240 });
    expect(merged.updates).toEqual([{ module: 'tlog', started: '2026-12-01T02:00:00.000Z', seconds: 250 }]);
    // The full run's own start and its previous figures stay.
    expect(merged.started).toBe('2026-12-01T00:00:00.000Z');
    const report = renderReport(merged);
    expect(report).toContain('tlog (2026-12-01T02:00:00.000Z, 250 s)');
    expect(report).toContain('| 17 | figure tlog.b | 0.930 ratio | 0.400 ratio |');
    // A second update of the same module replaces the first.
    expect(mergeUpdate(merged, 'tlog', { ...later, started: 'later' }).updates).toEqual([
      { module: 'tlog', started: 'later', seconds: 250 },
    ]);
  });
});
