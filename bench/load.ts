/**
 * `npm run load [-- --duration 30 --connections 50 --ingest-requests 1500 --paced-requests 200 --paced-rate 20]`:
 * a bounded load test of fetch and ingest on the local stack (loopback only): ingest flat out, then
 * paced, each with the catch-up lag of the derived counters and the time until a signed checkpoint
 * of the verifiable log covers a new entry (#17: ≤ 5 s p99). Fails (exit 1) on any error or non-2xx
 * answer, or when the entries stored or counted differ from the entries acknowledged.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { tlogStore } from '../lambdas/composition/tlog.js';
import { issueToken } from '../lambdas/use-cases/manage-tokens.js';
import { demoEvents } from '../local/demo-data.js';
import { startEmulators } from '../local/emulators.js';
import { newCursorKey, startLocalService } from '../local/stack.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    connections: { type: 'string', default: '50' },
    'ingest-requests': { type: 'string', default: '1500' },
    'paced-requests': { type: 'string', default: '200' },
    'paced-rate': { type: 'string', default: '20' },
  },
});
const duration = Math.min(120, Math.max(1, Number(values.duration)));
const connections = Math.min(200, Math.max(1, Number(values.connections)));
const ingestRequests = Math.min(20_000, Math.max(1, Number(values['ingest-requests'])));
const pacedRequests = Math.min(20_000, Math.max(1, Number(values['paced-requests'])));
const pacedRate = Math.min(1_000, Math.max(1, Number(values['paced-rate'])));
const EVENTS_PER_REQUEST = 10;
/** Pause between two reads of the derived counter while measuring the catch-up lag. */
const POLL_MS = 10;
/** Step of the acknowledged/counted timeline in bench/LOAD.md. */
const TIMELINE_STEP_MS = 2_000;

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

/** The acknowledged and counted curves side by side, one point per TIMELINE_STEP_MS. */
const curves = (
  acks: readonly { at: number; entries: number }[],
  samples: readonly { at: number; counted: number }[],
  from: number,
  to: number,
): string => {
  const points: string[] = [];
  for (let at = from; at <= to + TIMELINE_STEP_MS; at += TIMELINE_STEP_MS) {
    const acknowledged = acks.filter((ack) => ack.at <= at).reduce((sum, ack) => sum + ack.entries, 0);
    const counted = samples.filter((sample) => sample.at <= at).at(-1)?.counted ?? 0;
    points.push(`${acknowledged}/${counted}`);
  }
  return points.join(', ');
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
      // As `npm start` runs it: the stream consumer on a thread of its own beside the API.
      derivationThread: 'worker',
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

    /**
     * One ingest phase of `requests` requests of EVENTS_PER_REQUEST entries of `action`, with the
     * catch-up lag: when each acknowledgement arrived (and how many entries it acknowledged), and
     * what the derived counter said over time, polled until it has counted every acknowledged entry.
     */
    const ingestPhase = async (
      name: string,
      action: string,
      requests: number,
      extra: autocannon.Options | object,
    ) => {
      let acknowledged = 0;
      const countOf = () => service.services.counters.total('load', { kind: 'action', action });
      await service.settle();
      const before = await countOf();
      const acks: { at: number; entries: number }[] = [];
      const samples: { at: number; counted: number }[] = [];
      let ingesting = true;
      let ingestEnded = Number.POSITIVE_INFINITY;
      const poller = (async () => {
        while (ingesting || (samples.at(-1)?.counted ?? 0) < acknowledged) {
          if (!ingesting && performance.now() > ingestEnded + 60_000) break;
          const counted = (await countOf()) - before;
          // The count holds at the latest when the read returns: a lag measured to here is an upper bound.
          samples.push({ at: performance.now(), counted });
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      })();
      // Checkpoint coverage: the last entry of every request, from its acknowledgement until a
      // signed checkpoint covers its leaf. The poller only reads the checkpoint's size; each
      // entry's leaf index (fixed once sequenced) is read after the phase, so the measurement adds
      // one read a poll to the load, like the counters' poller.
      const tlog = tlogStore(service.services.config);
      // Polled until the checkpoint covers the tree as it stood once the counters caught up.
      let coverTarget = Number.POSITIVE_INFINITY;
      const coveredTarget = () => coverTarget;
      const covering: { id: number; at: number }[] = [];
      const sizes: { at: number; size: number }[] = [];
      const checkpointPoller = (async () => {
        while (ingesting || (sizes.at(-1)?.size ?? 0) < coveredTarget()) {
          if (!ingesting && performance.now() > ingestEnded + 60_000) break;
          const stored = await tlog.latestCheckpoint('load');
          sizes.push({ at: performance.now(), size: stored?.size ?? 0 });
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      })();
      const { stats } = service.derivation;
      const consumerBefore = {
        handled: stats.handled,
        batches: stats.batches,
        handleMs: stats.handleMs,
        readWaitMs: stats.readWaitMs,
      };
      const ingestStarted = performance.now();
      const body = JSON.stringify({
        events: Array.from({ length: EVENTS_PER_REQUEST }, (_, n) => ({
          action_type: action,
          message: `load event ${n}`,
          user: 'load@example.com',
        })),
      });
      // A fixed number of requests (bounded by a time limit), not a duration: requests cut off when a
      // duration ends may still be written without being acknowledged, and the check below must be exact.
      const summary = await run(name, {
        amount: requests,
        timeout: 60,
        url: `${service.url}/api/v1/audit_trail/events`,
        method: 'POST',
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body,
        requests: [
          {
            onResponse: (status: number, responseBody: string) => {
              if (status >= 200 && status < 300) {
                const { ids } = JSON.parse(responseBody) as { ids: unknown[] };
                const entries = ids.length;
                acknowledged += entries;
                acks.push({ at: performance.now(), entries });
                const last = Number(ids.at(-1));
                if (Number.isSafeInteger(last)) covering.push({ id: last, at: performance.now() });
              }
            },
          },
        ],
        ...extra,
      });
      ingestEnded = performance.now();
      ingesting = false;
      await poller;
      await service.settle();
      const caughtUp = performance.now();
      coverTarget = (await tlog.head('load'))?.size ?? 0;
      await checkpointPoller;
      const derived = stats.handled - consumerBefore.handled;
      const derivedBatches = stats.batches - consumerBefore.batches;
      const handleSeconds = (stats.handleMs - consumerBefore.handleMs) / 1000;
      const readWaitSeconds = (stats.readWaitMs - consumerBefore.readWaitMs) / 1000;
      const stored = (await countOf()) - before;
      const lag = catchUpLag(acks, samples);
      const page = await service.services.events.queryPage({
        tenant: 'load',
        selector: { kind: 'action', action },
        minId: 0,
        maxId: Number.MAX_SAFE_INTEGER,
        newestFirst: true,
        limit: 1_000_000,
      });
      const coverLags: number[] = [];
      for (const one of covering) {
        const index = await tlog.leafIndexOf('load', one.id);
        const covered = index === undefined ? undefined : sizes.find((sample) => sample.size > index);
        if (covered) coverLags.push(Math.max(0, covered.at - one.at));
      }
      coverLags.sort((a, b) => a - b);
      const uncovered = covering.length - coverLags.length;
      const lines = [
        `${name}: ${acknowledged} events acknowledged, ${page.records.length} stored, counter says ${stored}.`,
        `Catch-up lag (acknowledgement → counted by the stream consumer, per event): **p50 ${lag.p50.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms**, max ${lag.max.toFixed(0)} ms, over ${lag.events} events; the counter was polled every ${POLL_MS} ms (${samples.length} reads, median read ${lag.readMs.toFixed(0)} ms), so each figure is an upper bound by at most one poll.`,
        `Checkpoint lag (acknowledgement → a signed checkpoint of the tenant's verifiable log covers the entry, #17 goal ≤ 5 s p99): **p50 ${percentile(coverLags, 50).toFixed(0)} ms, p99 ${percentile(coverLags, 99).toFixed(0)} ms**, max ${(coverLags.at(-1) ?? 0).toFixed(0)} ms, over the last entry of each of ${covering.length} requests${uncovered > 0 ? ` (**${uncovered} not covered within 60 s**)` : ''}; the checkpoint's size was polled every ${POLL_MS} ms (${sizes.length} reads) and each entry's leaf index read after the phase.`,
        `Stream consumer (in a worker thread of this process, beside the API): ${derived} records (entries and self-audit records) in ${derivedBatches} batches, ${(derived / Math.max(1, derivedBatches)).toFixed(0)} a batch, ${((derived * 1000) / (caughtUp - ingestStarted)).toFixed(0)} records/s from the first request to caught up ${((caughtUp - ingestEnded) / 1000).toFixed(1)} s after the last answer (the self-audit records come last: their journal is stored behind the requests); ingest acknowledged ${((acknowledged * 1000) / (ingestEnded - ingestStarted)).toFixed(0)} events/s. The consumer spent ${handleSeconds.toFixed(1)} s handling batches and ${readWaitSeconds.toFixed(1)} s waiting for stream reads not hidden behind them.`,
        `Entries acknowledged / counted, every ${TIMELINE_STEP_MS / 1000} s from the first request: ${curves(acks, samples, ingestStarted, caughtUp)}.`,
      ];
      const exact =
        page.records.length === acknowledged &&
        stored === acknowledged &&
        lag.events === acknowledged &&
        uncovered === 0;
      return { summary, lines, exact };
    };

    const saturated = await ingestPhase(
      `ingest (${ingestRequests} requests of ${EVENTS_PER_REQUEST} events)`,
      'load_test',
      ingestRequests,
      {},
    );
    const paced = await ingestPhase(
      `ingest paced (${pacedRequests} requests of ${EVENTS_PER_REQUEST} events at ${pacedRate} requests/s)`,
      'load_test_paced',
      pacedRequests,
      { overallRate: pacedRate, connections: Math.min(connections, 10) },
    );
    const summaries = [fetchSummary, saturated.summary, paced.summary];
    const lines = [
      `# Load test (${connections} connections; fetch for ${duration} s, ingest ${ingestRequests} requests, then ${pacedRequests} paced at ${pacedRate}/s; loopback)`,
      '',
      '| endpoint | requests | non-2xx | errors | p50 ms | p99 ms | req/s |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...summaries.map(
        (s) =>
          `| ${s.name} | ${s.requests} | ${s.non2xx} | ${s.errors} | ${s.p50} | ${s.p99} | ${s.throughput.toFixed(0)} |`,
      ),
      '',
      ...saturated.lines.flatMap((line) => [line, '']),
      ...paced.lines.flatMap((line) => [line, '']),
      "The lag grows while the stream consumer derives slower than ingest writes (locally it runs on a thread of its own but shares the machine's cores and the one emulator with the API under load; on AWS it is its own Lambda per shard) and shrinks once the load stops. Until an entry is counted, a reader's counts (canary `page_count`, kore `total`, rollups) may miss entries already listed; until a checkpoint covers it, an inclusion proof for it is answered 404 and a download lists it among the entries its checkpoint does not cover yet.",
      '',
    ];
    process.stdout.write(lines.join('\n'));
    writeFileSync('bench/LOAD.md', lines.join('\n'));
    failed = summaries.some((s) => s.non2xx > 0 || s.errors > 0) || !saturated.exact || !paced.exact;
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
