import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { EventDraft } from '../lambdas/domain/record.js';
import { browsePages } from '../lambdas/use-cases/browse-pages.js';
import { bulkWrite } from '../local/bulk-write.js';
import { demoEvents } from '../local/demo-data.js';
import type { BenchModule, Measurement } from './harness.js';

/**
 * Issue 3: read amplification of a filtered fetch (index key condition vs a FilterExpression
 * baseline), and the cost of a first page for a big tenant vs a small one.
 */
export const fetchBench: BenchModule = async (context) => {
  const { service, quick } = context;
  const { events, counters, config } = service.services;
  const { cursorKey } = service;
  const now = Date.UTC(2026, 10, 1);
  // Quick: 5× the small tenant (still 50 pages, and ~190 entries of the filtered action), both
  // seeded with BatchWriteItem plus counters instead of transactional appends: the same entries and
  // counts in a fraction of the time (counters on one shard instead of up to eight, alike for both).
  const bigSize = quick ? 5_000 : 100_000;
  const small = context.tenant('small');
  const big = context.tenant('big');
  const tables = { eventsTable: config.EVENTS_TABLE };
  const seed = async (tenant: string, drafts: EventDraft[]) => {
    if (quick) await bulkWrite(service.services.doc, tables, tenant, drafts);
    else await context.seed(tenant, drafts);
    // Counted pages (page_count, deep pages) are measured once the stream consumer caught up.
    await service.settle();
  };
  await seed(small, demoEvents({ count: 1_000, days: 30, now, seed: 1 }));
  await seed(big, demoEvents({ count: bigSize, days: 30, now, seed: 2 }));

  // Filtered page through the byAction index.
  const limit = 100;
  const pageQuery = {
    tenant: big,
    selector: { kind: 'action', action: 'user_login_failed' } as const,
    minId: 0,
    maxId: Number.MAX_SAFE_INTEGER,
    newestFirst: true,
    limit,
  };
  const indexed = await events.queryPage(pageQuery);
  // Baseline: the same page from the base table with a FilterExpression.
  let scanned = 0;
  let returned = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await service.services.doc.send(
      new QueryCommand({
        TableName: config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        FilterExpression: 'action_type = :a',
        ExpressionAttributeValues: { ':t': big, ':a': 'user_login_failed' },
        ScanIndexForward: false,
        Limit: limit - returned,
        ExclusiveStartKey: startKey,
      }),
    );
    scanned += output.ScannedCount ?? 0;
    returned += output.Count ?? 0;
    startKey = output.LastEvaluatedKey;
  } while (startKey && returned < limit);

  const firstPage = (tenant: string) =>
    context.measureCapacity(() =>
      browsePages(
        { events, counters, cursorKey, cursorTtlSeconds: 3600, clock: Date.now },
        { tenant, selector: { kind: 'all' }, pageSize: 100, binding: 'canary', cursorField: 'cursor' },
      ),
    );
  const smallCost = await firstPage(small);
  const bigCost = await firstPage(big);
  const amplification: Measurement = {
    id: 'fetch.read-amplification',
    issue: 3,
    description: 'Filtered fetch: items read ÷ items returned',
    value: indexed.itemsRead / Math.max(1, indexed.records.length),
    unit: 'ratio',
    goal: { op: '<=', target: 1.05 },
    details: `action_filter page of ${limit} on a ${bigSize}-entry tenant: ${indexed.itemsRead} read for ${indexed.records.length} returned; FilterExpression baseline read ${scanned} for ${returned} (${(scanned / Math.max(1, returned)).toFixed(1)}×)`,
  };
  return [
    amplification,
    {
      id: 'fetch.first-page-cost-ratio',
      issue: 3,
      description: `First page read capacity: ${bigSize / 1000}k-entry tenant ÷ 1k-entry tenant`,
      value: bigCost.readUnits / smallCost.readUnits,
      unit: 'ratio',
      goal: { op: '<=', target: 1.5 },
      details: `${bigCost.readUnits} RCU vs ${smallCost.readUnits} RCU (page of 100 with exact page_count)${quick ? '; seeded with BatchWriteItem' : ''}`,
    },
  ];
};
