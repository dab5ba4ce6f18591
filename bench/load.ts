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
    const before = await service.services.counters.total('load', { kind: 'action', action: 'load_test' });
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
            if (status >= 200 && status < 300)
              acknowledged += (JSON.parse(responseBody) as { ids: unknown[] }).ids.length;
          },
        },
      ],
    });
    const stored =
      (await service.services.counters.total('load', { kind: 'action', action: 'load_test' })) - before;
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
    ];
    process.stdout.write(lines.join('\n'));
    writeFileSync('bench/LOAD.md', lines.join('\n'));
    failed =
      summaries.some((s) => s.non2xx > 0 || s.errors > 0) ||
      page.records.length !== acknowledged ||
      stored !== acknowledged;
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
