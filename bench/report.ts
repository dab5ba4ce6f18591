/**
 * The bench's report: `bench/results.json` (what a run measured) rendered as `bench/RESULTS.md`,
 * each figure beside the one the previous committed report held for it.
 *
 * `node --import tsx bench/report.ts <results.json> [<previous results.json>]` prints a report
 * again; with a second file, its figures are the "previous" ones (e.g. from
 * `git show HEAD~1:bench/results.json`).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Measurement } from './harness.js';

/** What one run wrote to results.json. */
export interface BenchResults {
  readonly started: string;
  readonly quick: boolean;
  readonly only: string | null;
  readonly seconds: number;
  /** Node version and platform of the run (e.g. `Node v20.20.2, linux/x64`). */
  readonly environment?: string;
  /** The commit the run measured (`+` when the checkout had changes beside it). */
  readonly commit?: string;
  readonly moduleSeconds: Record<string, number>;
  readonly measurements: readonly Measurement[];
  /**
   * Modules measured again after the full run by `--only <module> --update` (full size, alone), with
   * when: their figures replaced the full run's, and the report says so.
   */
  readonly updates?: readonly {
    readonly module: string;
    readonly started: string;
    readonly seconds: number;
    readonly commit?: string;
  }[];
  /** The figures of the committed report this run replaced, shown beside its own. */
  readonly previous?: PreviousFigures;
}

/** A report's figures, kept by the report that replaced it. */
export interface PreviousFigures {
  readonly started: string;
  readonly values: readonly { readonly id: string; readonly value: number; readonly unit: string }[];
}

/** The figures of `results`, as a later report keeps them. */
export const figuresOf = (results: BenchResults): PreviousFigures => ({
  started: results.started,
  values: results.measurements.map(({ id, value, unit }) => ({ id, value, unit })),
});

/** Reads a results.json; undefined when there is none or it cannot be read. */
export const readResults = (path: string): BenchResults | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
  } catch {
    return undefined;
  }
};

/** Whether a measurement meets its goal (undefined: it has none). */
export const met = (m: Measurement): boolean | undefined =>
  m.goal === undefined ? undefined : m.goal.op === '<=' ? m.value <= m.goal.target : m.value >= m.goal.target;

/** Three decimals below 100, none above. */
export const formatValue = (value: number): string =>
  Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(3);

/** The report, in Markdown: one row per measurement, with the previous report's value beside it. */
export const renderReport = (results: BenchResults): string => {
  const previous = results.previous;
  const before = new Map((previous?.values ?? []).map((m) => [m.id, m]));
  const rows = results.measurements.map((m) => {
    const status = met(m);
    const goal = m.goal ? `${m.goal.op} ${m.goal.target}` : '—';
    const earlier = before.get(m.id);
    const previousValue = earlier ? `${formatValue(earlier.value)} ${earlier.unit}` : '—';
    return `| ${m.issue} | ${m.description} | ${formatValue(m.value)} ${m.unit} | ${previousValue} | ${goal} | ${status === undefined ? 'reported' : status ? 'met' : '**not met**'} | ${m.details} |`;
  });
  const updates = results.updates ?? [];
  return [
    '# Benchmark results',
    '',
    `Run ${results.started} (${results.quick ? 'quick' : 'full'} mode, total wall time ${results.seconds.toFixed(0)} s${results.commit ? `, commit ${results.commit}` : ''}${results.environment ? `, ${results.environment}` : ''}), on DynamoDB Local and s3rver. Each figure is a ratio against a baseline measured in the same run.`,
    '',
    ...(updates.length > 0
      ? [
          `Measured again after that run, alone and at full size (\`npm run bench -- --only <module> --update\`): ${updates
            .map(
              (update) =>
                `${update.module} (${update.started}${update.commit ? `, commit ${update.commit}` : ''}, ${update.seconds.toFixed(0)} s)`,
            )
            .join(', ')}. Their rows are from those runs; the others from the full run.`,
          '',
        ]
      : []),
    `Wall time per module: ${Object.entries(results.moduleSeconds)
      .map(([name, moduleTime]) => `${name} ${moduleTime.toFixed(0)} s`)
      .join(', ')}.`,
    '',
    `"Previous" is the committed report before this one${previous ? ` (run ${previous.started})` : ' (none)'}.`,
    '',
    '| issue | measurement | value | previous | goal | status | details |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
};

/**
 * A full run's results with one module's measurements replaced by a later `--only` run's: the
 * module's rows move to where they were, and the update is recorded.
 */
export const mergeUpdate = (full: BenchResults, module: string, update: BenchResults): BenchResults => {
  const prefix = `${module}.`;
  const fresh = update.measurements;
  const measurements: Measurement[] = [];
  let placed = false;
  for (const m of full.measurements) {
    if (!m.id.startsWith(prefix)) measurements.push(m);
    else if (!placed) {
      measurements.push(...fresh);
      placed = true;
    }
  }
  if (!placed) measurements.push(...fresh);
  return {
    ...full,
    measurements,
    moduleSeconds: { ...full.moduleSeconds, [module]: update.moduleSeconds[module] ?? 0 },
    updates: [
      ...(full.updates ?? []).filter((one) => one.module !== module),
      {
        module,
        started: update.started,
        seconds: update.seconds,
        ...(update.commit ? { commit: update.commit } : {}),
      },
    ],
  };
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [resultsPath, previousPath] = process.argv.slice(2);
  const results = resultsPath ? readResults(resultsPath) : undefined;
  if (!results) {
    console.error('usage: bench/report.ts <results.json> [<previous results.json>]');
    process.exit(2);
  }
  const previous = previousPath ? readResults(previousPath) : undefined;
  process.stdout.write(renderReport(previous ? { ...results, previous: figuresOf(previous) } : results));
}
