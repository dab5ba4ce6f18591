import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { handlerBuildOptions, handlerNames, NODE_OPTIONS, ROOT } from '../lib/bundling.js';
import type { BenchModule, Measurement } from './harness.js';

/**
 * Issue 7: each Lambda function's bundle size and module init time. Every handler in
 * lambdas/handlers is bundled with the construct's esbuild options (lib/bundling.ts), then imported
 * in fresh Node processes with the deployed NODE_OPTIONS. The init figure is the median CPU time
 * (user + system) of the `import()` alone: on this shared machine wall time mostly measures waiting
 * for a core, so it is reported beside it with the load average. The same import of an empty
 * module is the baseline (loader overhead that is not the bundle's).
 */
const run = promisify(execFile);
// Outside bench/ so Biome does not lint the bundles; .local/ is git-ignored scratch space.
const OUT = join(ROOT, '.local', 'bench-bundles');

const SIZE_GOAL_KB = 500;
const INIT_GOAL_MS = 150;

interface ImportTime {
  /** Wall-clock milliseconds of the import. */
  readonly wall: number;
  /** CPU milliseconds (user + system) the import used: what the wall time would be on an idle core. */
  readonly cpu: number;
}

/** How long a fresh `node` process takes to import `file`, measured inside that process. */
const importTime = async (file: string, nodeOptions: string): Promise<ImportTime> => {
  const script = [
    'const cpu0 = process.cpuUsage(); const t0 = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'const wall = performance.now() - t0; const cpu = process.cpuUsage(cpu0);',
    'process.stdout.write(JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1000 }));',
  ].join(' ');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions, AWS_REGION: 'us-east-1' },
  });
  return JSON.parse(stdout) as ImportTime;
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const medianImport = async (file: string, runs: number, nodeOptions = NODE_OPTIONS): Promise<ImportTime> => {
  const times: ImportTime[] = [];
  for (let i = 0; i < runs; i++) times.push(await importTime(file, nodeOptions));
  return { wall: median(times.map((t) => t.wall)), cpu: median(times.map((t) => t.cpu)) };
};

export const bundlesBench: BenchModule = async ({ quick }) => {
  const runs = quick ? 3 : 7;
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const empty = join(OUT, 'empty.mjs');
  await build({ stdin: { contents: 'export {};' }, outfile: empty, format: 'esm', logLevel: 'error' });
  const baseline = await medianImport(empty, runs);

  const rows: { name: string; kb: number; mapKb: number; time: ImportTime; withoutMaps: ImportTime }[] = [];
  for (const name of handlerNames()) {
    const outfile = join(OUT, name, 'index.mjs');
    await build(handlerBuildOptions(name, outfile));
    rows.push({
      name,
      kb: statSync(outfile).size / 1024,
      mapKb: statSync(`${outfile}.map`).size / 1024,
      time: await medianImport(outfile, runs),
      withoutMaps: await medianImport(outfile, runs, ''),
    });
  }

  const worstSize = rows.reduce((a, b) => (b.kb > a.kb ? b : a));
  const worstInit = rows.reduce((a, b) => (b.time.cpu > a.time.cpu ? b : a));
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  const measurements: Measurement[] = [
    {
      id: 'bundles.worst-size',
      issue: 7,
      description: 'Largest Lambda bundle (minified ESM, AWS SDK included)',
      value: worstSize.kb,
      unit: 'KB',
      goal: { op: '<=', target: SIZE_GOAL_KB },
      details: `${worstSize.name}, of ${rows.length} functions`,
    },
    {
      id: 'bundles.worst-init',
      issue: 7,
      description: 'Slowest Lambda module init (CPU time of the import in a fresh Node process)',
      value: worstInit.time.cpu,
      unit: 'ms',
      goal: { op: '<=', target: INIT_GOAL_MS },
      details: `${worstInit.name}, median of ${runs}, NODE_OPTIONS=${NODE_OPTIONS} as deployed; wall ${worstInit.time.wall.toFixed(0)} ms at load average ${load}; empty module ${baseline.cpu.toFixed(1)} ms CPU`,
    },
  ];
  for (const row of rows) {
    measurements.push(
      {
        id: `bundles.size.${row.name}`,
        issue: 7,
        description: `Bundle size of ${row.name}`,
        value: row.kb,
        unit: 'KB',
        goal: { op: '<=', target: SIZE_GOAL_KB },
        details: `index.mjs; its source map (${row.mapKb.toFixed(0)} KB) ships beside it`,
      },
      {
        id: `bundles.init.${row.name}`,
        issue: 7,
        description: `Module init CPU time of ${row.name}`,
        value: row.time.cpu,
        unit: 'ms',
        goal: { op: '<=', target: INIT_GOAL_MS },
        details: `median of ${runs} fresh processes with ${NODE_OPTIONS} (${row.withoutMaps.cpu.toFixed(0)} ms without); wall ${row.time.wall.toFixed(0)} ms at load average ${load}; empty module ${baseline.cpu.toFixed(1)} ms`,
      },
    );
  }
  return measurements;
};
