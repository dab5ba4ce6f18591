/**
 * `npm run load [-- --duration 30 --connections 50 --ingest-requests 1500]`: a bounded load test of fetch and ingest on
 * the local stack (loopback only). Fails (exit 1) on any error or non-2xx answer, or when the
 * entries stored differ from the entries acknowledged.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { issueToken } from '../lambdas/use-cases/manage-tokens.js';
import { demoEvents } from '../local/demo-data.js';
import { startEmulators } from '../local/emulators.js';
import { newCursorKey, startLocalService } from '../local/stack.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    connections: { type: 'string', default: '50' },
    'ingest-requests': { type: 'string', default: '1500' },
  },
});
const duration = Math.min(120, Math.max(1, Number(values.duration)));
const connections = Math.min(200, Math.max(1, Number(values.connections)));
const ingestRequests = Math.min(20_000, Math.max(1, Number(values['ingest-requests'])));
const EVENTS_PER_REQUEST = 10;
/** Pause between two reads of the derived counter while measuring the catch-up lag. */
const POLL_MS = 10;

interface Summary {
  readonly name: string;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly throughput: number;
}

const run = async (name: string, options: autocannon.Options): Promise<Summary> => {
  const result = await autocannon({ connections, ...options });
  return {
    name,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    throughput: result.requests.average,
  };
};

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/**
 * Per acknowledged entry, the time from its acknowledgement to the first counter read that counts
 * it: the k-th entry acknowledged is taken as counted once the counter reaches k (the horizontal
 * distance between the acknowledged and counted curves; exact for a consumer that counts in
 * acknowledgement order, and the usual measure otherwise). An entry counted before its answer
 * arrived has lag 0.
 */
const catchUpLag = (
  acks: readonly { at: number; entries: number }[],
  samples: readonly { at: number; counted: number }[],
) => {
  const lags: number[] = [];
  const sortedAcks = [...acks].sort((a, b) => a.at - b.at);
  let sample = 0;
  let k = 0;
  for (const ack of sortedAcks) {
    for (let n = 0; n < ack.entries; n += 1) {
      k += 1;
      while (sample < samples.length && (samples[sample]?.counted ?? 0) < k) sample += 1;
      const counted = samples[sample];
      if (!counted)
        return { events: lags.length, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, readMs: 0 };
      lags.push(Math.max(0, counted.at - ack.at));
    }
  }
  lags.sort((a, b) => a - b);
  const gaps = samples.slice(1).map((s, i) => s.at - (samples[i]?.at ?? s.at) - POLL_MS);
  gaps.sort((a, b) => a - b);
  return {
    events: lags.length,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags.at(-1) ?? 0,
    readMs: Math.max(0, percentile(gaps, 50)),
  };
};

const main = async () => {
  const emulators = await startEmulators({ scratchDir: `.local/load-${process.pid}` });
  let failed = false;
  try {
    const service = await startLocalService(emulators, {
      names: {
        eventsTable: 'load-events',
        controlTable: 'load-control',
        exportsBucket: 'load-exports',
        archiveBucket: 'load-archive',
      },
      cursorKey: newCursorKey(),
      port: 0,
    });
    const { token } = await issueToken(
      service.services.tokens,
      { tenant: 'load', scopes: ['read', 'ingest'] },
      service.services.tenants,
    );
    const drafts = demoEvents({ count: 2000, days: 7, now: Date.now() });
    for (let start = 0; start < drafts.length; start += 100)
      await service.services.events.append('load', drafts.slice(start, start + 100));

    const fetchSummary = await run('fetch (limit=50, action_filter=user_login)', {
      url: `${service.url}/api/v1/audit_trail/fetch?limit=50&action_filter=user_login`,
      headers: { 'x-api-key': token },
      duration,
    });

    let acknowledged = 0;
    const loadTestCount = () =>
      service.services.counters.total('load', { kind: 'action', action: 'load_test' });
    await service.settle();
    const before = await loadTestCount();
    // Catch-up lag: when each acknowledgement arrived (and how many entries it acknowledged), and
    // what the derived counter said over time, polled until it has counted every acknowledged entry.
    const acks: { at: number; entries: number }[] = [];
    const samples: { at: number; counted: number }[] = [];
    let ingesting = true;
    const poller = (async () => {
      const deadline = () => !ingesting && performance.now() > ingestEnded + 60_000;
      while (ingesting || (samples.at(-1)?.counted ?? 0) < acknowledged) {
        if (deadline()) break;
        const counted = (await loadTestCount()) - before;
        // The count holds at the latest when the read returns: a lag measured to here is an upper bound.
        samples.push({ at: performance.now(), counted });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();
    let ingestEnded = Number.POSITIVE_INFINITY;
    const { stats } = service.derivation;
    const consumerBefore = { handled: stats.handled, batches: stats.batches };
    const ingestStarted = performance.now();
    const body = JSON.stringify({
      events: Array.from({ length: EVENTS_PER_REQUEST }, (_, n) => ({
        action_type: 'load_test',
        message: `load event ${n}`,
        user: 'load@example.com',
      })),
    });
    // A fixed number of requests (bounded by a time limit), not a duration: requests cut off when a
    // duration ends may still be written without being acknowledged, and the check below must be exact.
    const ingestSummary = await run(`ingest (${ingestRequests} requests of ${EVENTS_PER_REQUEST} events)`, {
      amount: ingestRequests,
      timeout: 60,
      url: `${service.url}/api/v1/audit_trail/events`,
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body,
      requests: [
        {
          onResponse: (status: number, responseBody: string) => {
            if (status >= 200 && status < 300) {
              const entries = (JSON.parse(responseBody) as { ids: unknown[] }).ids.length;
              acknowledged += entries;
              acks.push({ at: performance.now(), entries });
            }
          },
        },
      ],
    });
    ingestEnded = performance.now();
    ingesting = false;
    await poller;
    await service.settle();
    const caughtUp = performance.now();
    const derived = stats.handled - consumerBefore.handled;
    const derivedBatches = stats.batches - consumerBefore.batches;
    const stored = (await loadTestCount()) - before;
    const lag = catchUpLag(acks, samples);
    const page = await service.services.events.queryPage({
      tenant: 'load',
      selector: { kind: 'action', action: 'load_test' },
      minId: 0,
      maxId: Number.MAX_SAFE_INTEGER,
      newestFirst: true,
      limit: 1_000_000,
    });

    const summaries = [fetchSummary, ingestSummary];
    const lines = [
      `# Load test (${connections} connections; fetch for ${duration} s, ingest ${ingestRequests} requests; loopback)`,
      '',
      '| endpoint | requests | non-2xx | errors | p50 ms | p99 ms | req/s |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...summaries.map(
        (s) =>
          `| ${s.name} | ${s.requests} | ${s.non2xx} | ${s.errors} | ${s.p50} | ${s.p99} | ${s.throughput.toFixed(0)} |`,
      ),
      '',
      `Ingest: ${acknowledged} events acknowledged, ${page.records.length} stored, counter says ${stored}.`,
      '',
      `Catch-up lag (acknowledgement → counted by the stream consumer, per event): p50 ${lag.p50.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms, max ${lag.max.toFixed(0)} ms, over ${lag.events} events; the counter was polled every ${POLL_MS} ms (${samples.length} reads, median read ${lag.readMs.toFixed(0)} ms), so each figure is an upper bound by at most one poll. Until then a reader's counts (canary \`page_count\`, kore \`total\`, rollups) may miss entries already listed.`,
      '',
      `Stream consumer (in process, one shard at a time): ${derived} records (entries and self-audit records) in ${derivedBatches} batches, ${(derived / Math.max(1, derivedBatches)).toFixed(0)} a batch, ${((derived * 1000) / (caughtUp - ingestStarted)).toFixed(0)} records/s from the first request to caught up ${((caughtUp - ingestEnded) / 1000).toFixed(1)} s after the last answer; ingest acknowledged ${((acknowledged * 1000) / (ingestEnded - ingestStarted)).toFixed(0)} events/s. The lag grows while the consumer derives slower than ingest writes, and shrinks once the load stops.`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    writeFileSync('bench/LOAD.md', lines.join('\n'));
    failed =
      summaries.some((s) => s.non2xx > 0 || s.errors > 0) ||
      page.records.length !== acknowledged ||
      stored !== acknowledged ||
      lag.events !== acknowledged;
    await service.stop();
  } finally {
    await emulators.stop();
  }
  if (failed) {
    process.stderr.write('Load test FAILED: errors, non-2xx answers, or stored ≠ acknowledged.\n');
    process.exit(1);
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
