import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bulkWrite } from '../local/bulk-write.js';
import { demoEvents } from '../local/demo-data.js';
import type { BenchModule, Measurement } from './harness.js';

const run = promisify(execFile);

interface ChildResult {
  entries: number;
  mode: string;
  bytes: number;
  ms: number;
  peakRssBytes: number;
  /** Peaks of V8's heap (reserved) and of memory outside it (buffers), sampled every 25 ms. */
  peakHeapBytes: number;
  peakExternalBytes: number;
}

const MB = 1024 * 1024;

/**
 * Issue 6: memory and speed of the download export. Each export runs in a fresh child process
 * (bench/download-child.ts) so its peak RSS is its own: a big export's peak minus a small one's
 * shows whether memory grows with the export (goal: ≤ 32 MB), and the streaming export's
 * throughput is compared with a baseline that builds the whole zip in memory.
 */
export const downloadBench: BenchModule = async (context) => {
  const { service, quick } = context;
  const { doc, config } = service.services;
  // Quick: 10k − 1k entries still shows whether peak memory grows with the export (the in-memory
  // baseline run beside it shows what growth looks like at that size), in a fraction of the time.
  const bigSize = quick ? 10_000 : 200_000;
  const smallSize = bigSize / 10;
  const now = Date.UTC(2026, 10, 1);
  const tables = { eventsTable: config.EVENTS_TABLE };
  const small = context.tenant('download-small');
  const big = context.tenant('download-big');
  await bulkWrite(doc, tables, small, demoEvents({ count: smallSize, days: 30, now, seed: 11 }));
  await bulkWrite(doc, tables, big, demoEvents({ count: bigSize, days: 30, now, seed: 12 }));
  // Exports plan their chunks from the rollup counters, which the stream consumer derives.
  await service.settle();

  const child = async (mode: 'streaming' | 'baseline', tenant: string): Promise<ChildResult> => {
    const { stdout } = await run(
      process.execPath,
      ['--no-warnings', '--import', 'tsx', 'bench/download-child.ts', mode, tenant],
      { env: { ...process.env, ...service.env, LOG_LEVEL: 'silent' }, maxBuffer: 1024 * 1024 },
    );
    const line = stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as ChildResult;
  };
  // Warm DynamoDB Local's JIT first; then alternate streaming and baseline runs and keep each
  // one's best time, so neither gains from running second over pages the emulator just read.
  await child('streaming', small);
  const smallRuns = [await child('streaming', small), await child('streaming', small)];
  const bigRuns: ChildResult[] = [];
  const baselines: ChildResult[] = [];
  for (let round = 0; round < 2; round += 1) {
    baselines.push(await child('baseline', big));
    bigRuns.push(await child('streaming', big));
  }
  const fastest = (runs: ChildResult[]) =>
    runs.reduce((best, result) => (result.ms < best.ms ? result : best));
  const highest = (runs: ChildResult[]) =>
    runs.reduce((best, result) => (result.peakRssBytes > best.peakRssBytes ? result : best));
  // Memory: the higher peak of each size (conservative for the big one).
  const smallRun = highest(smallRuns);
  const bigPeak = highest(bigRuns);
  const bigRun = fastest(bigRuns);
  const baseline = fastest(baselines);

  const mb = (bytes: number) => (bytes / MB).toFixed(1);
  const rate = (result: ChildResult) => result.entries / (result.ms / 1000);
  return [
    {
      id: 'download.peak-rss-growth',
      issue: 6,
      description: `Download export peak RSS: ${bigSize / 1000}k entries − ${smallSize / 1000}k entries`,
      value: (bigPeak.peakRssBytes - smallRun.peakRssBytes) / MB,
      unit: 'MB',
      goal: { op: '<=', target: 32 },
      details: `higher peak of 2 runs each: ${mb(bigPeak.peakRssBytes)} MB (${bigPeak.entries} entries, ${bigPeak.mode}, zip ${bigPeak.mode === 'inline' ? `${mb(bigPeak.bytes)} MB` : 'in S3'}; heap ${mb(bigPeak.peakHeapBytes)}, external ${mb(bigPeak.peakExternalBytes)}) vs ${mb(smallRun.peakRssBytes)} MB (${smallRun.entries} entries, ${smallRun.mode}; heap ${mb(smallRun.peakHeapBytes)}, external ${mb(smallRun.peakExternalBytes)}); in-memory baseline peaked at ${mb(highest(baselines).peakRssBytes)} MB`,
    },
    {
      id: 'download.throughput-ratio',
      issue: 6,
      description: 'Download export throughput: streaming ÷ in-memory zip baseline',
      value: rate(bigRun) / rate(baseline),
      unit: 'ratio',
      details: `${bigSize / 1000}k entries, best of 2 alternating runs: streaming ${rate(bigRun).toFixed(0)} entries/s (${(bigRun.ms / 1000).toFixed(1)} s, ${bigRun.mode}) vs in-memory ${rate(baseline).toFixed(0)} entries/s (${(baseline.ms / 1000).toFixed(1)} s, ${baseline.mode}); both read DynamoDB Local, which dominates`,
    },
  ] satisfies Measurement[];
};
