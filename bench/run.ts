/**
 * `npm run bench [-- --quick] [-- --only <module>]`: every measurement, in one run on the local
 * stack, each as a ratio against a baseline measured in the same run. A full run of every module
 * writes bench/results.json and bench/RESULTS.md (the committed report, each figure beside the
 * previous report's); a quick or partial run writes the same two files under bench/tmp/
 * (git-ignored), so it never replaces the report. `--only <module> --update` measures one module
 * again at full size and replaces its rows in the committed report, which then says so.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulators } from '../local/emulators.js';
import { newCursorKey, startLocalService } from '../local/stack.js';
import { bundlesBench } from './bundles.js';
import { derivationBench } from './derivation.js';
import { dialectsBench } from './dialects.js';
import { downloadBench } from './download.js';
import { fetchBench } from './fetch.js';
import { type BenchContext, type BenchModule, type Measurement, trackCapacity } from './harness.js';
import { hotTenantsBench } from './hot-tenants.js';
import { ingestBench } from './ingest.js';
import { parallelExportBench } from './parallel-export.js';
import { purgeBench } from './purge.js';
import {
  type BenchResults,
  figuresOf,
  formatValue,
  mergeUpdate,
  readResults,
  renderReport,
} from './report.js';
import { tlogBench } from './tlog.js';

/** Every bench module, in report order. Add new ones here. */
const MODULES: Record<string, BenchModule> = {
  fetch: fetchBench,
  bundles: bundlesBench,
  dialects: dialectsBench,
  purge: purgeBench,
  download: downloadBench,
  'parallel-export': parallelExportBench,
  ingest: ingestBench,
  derivation: derivationBench,
  'hot-tenants': hotTenantsBench,
  tlog: tlogBench,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    update: { type: 'boolean', default: false },
  },
});
const quick = values.quick ?? false;

/** Where this run's results go: the committed report only for a full run of every module. */
const update = values.update ?? false;
if (update && (!values.only || quick)) {
  console.error(
    '--update re-measures one module at full size: use it with --only <module> and without --quick',
  );
  process.exit(2);
}
const outputDir = (quick || values.only) && !update ? 'bench/tmp' : 'bench';
/** The committed report: what this run's figures stand beside, and what `--update` changes. */
const committed = readResults('bench/results.json');
if (update && (!committed || committed.quick || committed.only !== null)) {
  console.error('--update replaces one module of a full run: bench/results.json holds none');
  process.exit(2);
}

/** The commit this checkout is at, `+` when it has changes beside it; undefined outside git. */
const checkoutCommit = (): string | undefined => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    })
      .split('\n')
      .some((line) => line.trim() !== '' && !/ bench\/(RESULTS\.md|results\.json)$/.test(line));
    return `${head}${changed ? '+' : ''}`;
  } catch {
    return undefined;
  }
};

const main = async () => {
  const started = new Date();
  const commit = checkoutCommit();
  const emulators = await startEmulators({ scratchDir: `.local/bench-${process.pid}` });
  const suffix = randomBytes(3).toString('hex');
  try {
    const service = await startLocalService(emulators, {
      names: {
        eventsTable: `bench-events-${suffix}`,
        controlTable: `bench-control-${suffix}`,
        exportsBucket: `bench-exports-${suffix}`,
        archiveBucket: `bench-archive-${suffix}`,
      },
      cursorKey: newCursorKey(),
      port: 0,
    });
    // Capacity is summed per measurement, for the requests its own work sends (followed through
    // promises by AsyncLocalStorage): the stream consumer shares the client but runs outside every
    // measurement, so its background writes are never charged to the request path measured.
    const tallies = new AsyncLocalStorage<{ reads: number; writes: number }>();
    trackCapacity(service.services.doc, (read, write) => {
      const tally = tallies.getStore();
      if (!tally) return;
      tally.reads += read;
      tally.writes += write;
    });
    const context: BenchContext = {
      service,
      quick,
      tenant: (name) => `bench-${name}-${randomBytes(3).toString('hex')}`,
      seed: async (tenant, drafts, concurrency = 8) => {
        const batches: (typeof drafts)[] = [];
        for (let start = 0; start < drafts.length; start += 100)
          batches.push(drafts.slice(start, start + 100));
        let next = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < batches.length) {
              const batch = batches[next++];
              if (batch) await service.services.events.append(tenant, batch);
            }
          }),
        );
        // Rollup counters are derived behind the writes: benches measure reads of a caught-up trail.
        await service.settle();
      },
      measureCapacity: async (work) => {
        const tally = { reads: 0, writes: 0 };
        const result = await tallies.run(tally, work);
        return { result, readUnits: tally.reads, writeUnits: tally.writes };
      },
    };
    const measurements: Measurement[] = [];
    const moduleSeconds: Record<string, number> = {};
    for (const [name, module] of Object.entries(MODULES)) {
      if (values.only && values.only !== name) continue;
      const moduleStart = Date.now();
      process.stdout.write(`bench ${name}…\n`);
      const results = await module(context);
      measurements.push(...results);
      for (const m of results)
        process.stdout.write(`  ${m.id}: ${formatValue(m.value)} ${m.unit} (${m.details})\n`);
      moduleSeconds[name] = (Date.now() - moduleStart) / 1000;
      process.stdout.write(`  (${moduleSeconds[name].toFixed(1)} s)\n`);
    }
    // Total wall time: emulators, service and every module.
    const seconds = (Date.now() - started.getTime()) / 1000;
    mkdirSync(outputDir, { recursive: true });
    const run: BenchResults = {
      started: started.toISOString(),
      quick,
      only: values.only ?? null,
      seconds,
      environment: `Node ${process.version}, ${process.platform}/${process.arch}`,
      ...(commit ? { commit } : {}),
      moduleSeconds,
      measurements,
    };
    // The committed report this run replaces keeps its figures beside the new ones; an update of
    // one module keeps the full run's report and its "previous" figures, replacing that module's rows.
    const report: BenchResults =
      update && values.only && committed
        ? mergeUpdate(committed, values.only, run)
        : committed
          ? { ...run, previous: figuresOf(committed) }
          : run;
    writeFileSync(`${outputDir}/results.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${outputDir}/RESULTS.md`, renderReport(report));
    process.stdout.write(
      `Wrote ${outputDir}/results.json and ${outputDir}/RESULTS.md (total wall time ${seconds.toFixed(0)} s)\n`,
    );
    await service.stop();
  } finally {
    await emulators.stop();
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
