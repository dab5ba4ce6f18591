import { randomUUID } from 'node:crypto';
import { tenantCounterPrefix } from '../lambdas/adapters/dynamodb-keys.js';
import { recordToItem } from '../lambdas/adapters/dynamodb-records.js';
import { derivationDependencies } from '../lambdas/composition/derivation.js';
import { allocateIds } from '../lambdas/domain/ids.js';
import { type EventDraft, sealRecord } from '../lambdas/domain/record.js';
import { COUNTER_SHARDS } from '../lambdas/domain/rollups.js';
import type { ChangeRecord } from '../lambdas/ports/derivation.js';
import { deriveChanges } from '../lambdas/use-cases/derive-changes.js';
import { demoEvents } from '../local/demo-data.js';
import type { BenchModule } from './harness.js';

interface TransactInput {
  readonly TransactItems?: readonly { readonly Update?: { readonly Key?: unknown } }[];
}

/**
 * Issue 16: the stream consumer that derives the rollup counters behind the request path (run in
 * this process, as `npm start` does): how many stream records a second its handler derives (and,
 * end to end, the stream consumer beside writers), and how often
 * the hottest counter item of a tenant is written per 1,000 of its events (one write per consumer
 * chunk, however many entries the chunk holds; the previous design wrote it once per request).
 *
 * The events are written in small requests (10 events each, as a chatty client sends them), all in
 * the current hour, through the event store the handlers use; the counter writes are observed on
 * the shared DynamoDB client (successful TransactWriteItems updates of this tenant's counter items).
 */
export const derivationBench: BenchModule = async (context) => {
  const { service, quick } = context;
  const { doc, events, counters } = service.services;
  const total = quick ? 3_000 : 10_000;
  const perRequest = 10;
  const concurrency = 16;
  const tenant = context.tenant('derivation');
  const drafts: EventDraft[] = demoEvents({ count: total, days: 1, now: Date.now(), seed: 16 }).map(
    ({ timestamp: _now, ...draft }) => draft,
  );
  const requests: EventDraft[][] = [];
  for (let start = 0; start < drafts.length; start += perRequest)
    requests.push(drafts.slice(start, start + perRequest));

  const writesPerItem = new Map<string, number>();
  let chunks = 0;
  const prefix = tenantCounterPrefix(tenant);
  const middlewareName = 'benchCounterWrites';
  doc.middlewareStack.add(
    (next) => async (args) => {
      const output = await next(args);
      let touched = false;
      for (const action of (args.input as TransactInput).TransactItems ?? []) {
        const key = action.Update?.Key;
        if (key === undefined) continue;
        const text = JSON.stringify(key);
        if (!text.includes(prefix)) continue;
        touched = true;
        writesPerItem.set(text, (writesPerItem.get(text) ?? 0) + 1);
      }
      if (touched) chunks += 1;
      return output;
    },
    { step: 'initialize', name: middlewareName },
  );

  try {
    // Start from a caught-up consumer, so every record it handles from here on is this module's.
    await service.settle();
    const { stats } = service.derivation;
    const handledBefore = stats.handled;
    const batchesBefore = stats.batches;
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests.length) {
          const request = requests[next++] as EventDraft[];
          await events.append(tenant, request);
        }
      }),
    );
    const written = performance.now();
    const handledAtWritten = stats.handled;
    await service.settle();
    const settled = performance.now();
    const handled = stats.handled - handledBefore;
    const batches = stats.batches - batchesBefore;
    const counted = await counters.total(tenant, { kind: 'all' });
    if (counted !== total) throw new Error(`the consumer counted ${counted} of ${total} events`);

    // The drain after the last write, when the consumer was behind by a tenth of the load or more,
    // is its own speed; otherwise it kept up with the writers and the whole run is a lower bound.
    const backlog = stats.handled - handledAtWritten;
    const drainSeconds = (settled - written) / 1000;
    const overallRate = handled / ((settled - started) / 1000);
    const drained = backlog >= total / 10;
    const rate = drained ? backlog / drainSeconds : overallRate;
    const hottest = Math.max(0, ...writesPerItem.values());

    // The consumer's own speed: its handler (journal lookups, one counter transaction per chunk,
    // the alias entry) over deliveries of 100 insert records, one after the other as one shard's
    // are, timed without the stream polling and without writers competing. The records are built
    // as the stream delivers them (the stored item as the new image), for another tenant.
    const directTenant = context.tenant('derivation-direct');
    const deps = derivationDependencies(service.services.config);
    const now = Date.now();
    const deliveries: ChangeRecord[][] = [];
    for (let start = 0; start < drafts.length; start += 100) {
      deliveries.push(
        drafts.slice(start, start + 100).map((draft, n) => {
          const timestamp = now - start - n;
          const [id] = allocateIds(timestamp, 1);
          return {
            eventId: randomUUID(),
            sequenceNumber: String(start + n + 1).padStart(21, '0'),
            kind: 'insert',
            newImage: recordToItem(sealRecord(directTenant, id as number, timestamp, draft)),
          };
        }),
      );
    }
    const directStarted = performance.now();
    for (const delivery of deliveries) {
      const outcome = await deriveChanges(deps, delivery);
      if (outcome.resumeAt !== undefined)
        throw new Error('a bench delivery failed', { cause: outcome.error });
    }
    const directRate = total / ((performance.now() - directStarted) / 1000);
    const directCounted = await counters.total(directTenant, { kind: 'all' });
    if (directCounted !== total) throw new Error(`the handler counted ${directCounted} of ${total} events`);
    // The previous design wrote one shard of every counter in each request's transaction: the
    // hottest item took at least its share of the requests.
    const previousHottest = Math.ceil(requests.length / COUNTER_SHARDS);

    return [
      {
        id: 'derivation.consumer-throughput',
        issue: 16,
        description:
          'Stream records derived per second by the consumer handler (deliveries of 100, one shard in order)',
        value: directRate,
        unit: 'records/s',
        details: `${deliveries.length} deliveries of 100 insert records through deriveChanges (journal, counters, alias; no stream polling, no competing writers), counter total exact; end to end on DynamoDB Local's stream beside the writers: ${Math.round(rate)} records/s (${total} events in ${requests.length} requests of ${perRequest}, ${concurrency} at a time, written in ${((written - started) / 1000).toFixed(1)} s; ${drained ? `${backlog} records still to derive when the writes ended, drained in ${drainSeconds.toFixed(1)} s` : `the consumer kept up (${backlog} records behind at the end): a lower bound`}; ${handled} records in ${batches} stream batches, ${Math.round(overallRate)} records/s from the first write to caught up; counter total exact (${counted}))`,
      },
      {
        id: 'derivation.hottest-counter-writes',
        issue: 16,
        description:
          'Writes to the hottest counter item per 1,000 events (grows with consumer chunks, not events)',
        value: (hottest / total) * 1000,
        unit: 'writes/1000 events',
        details: `${total} events of one tenant in one hour, ${requests.length} requests of ${perRequest}: ${chunks} consumer chunks wrote this tenant's counters (${(total / Math.max(1, chunks)).toFixed(1)} events a chunk, each chunk one write per counter item on one of ${COUNTER_SHARDS} shards), the hottest item written ${hottest} times; the previous design wrote the counters in every request's transaction: at least ${previousHottest} writes to the hottest item here (${((previousHottest / total) * 1000).toFixed(1)} per 1,000 events), and ${1000 / COUNTER_SHARDS} per 1,000 for one-event requests`,
      },
    ];
  } finally {
    doc.middlewareStack.remove(middlewareName);
  }
};
