import { describe, expect, it } from '@jest/globals';
import { recordToItem } from '../../lambdas/adapters/dynamodb-records.js';
import { insertedEntry } from '../../lambdas/adapters/dynamodb-tlog.js';
import { idFor } from '../../lambdas/domain/ids.js';
import { sealRecord } from '../../lambdas/domain/record.js';
import type { ChangeRecord } from '../../lambdas/ports/derivation.js';

const change = (
  newImage: Record<string, unknown> | undefined,
  kind: ChangeRecord['kind'] = 'insert',
): ChangeRecord => ({
  eventId: 'e1',
  sequenceNumber: '1',
  kind,
  ...(newImage ? { newImage } : {}),
});

describe('the entry a stream record inserted, as the sequencer reads it', () => {
  const record = sealRecord('acme', idFor(1_800_000_000_000, 3), 1_800_000_000_000, { action_type: 'a' });

  it('names the tenant, not its write shard, for an entry of a hot tenant written to shard 3', () => {
    // Prepare: the same entry in the tenant's own partition and in write shard 3.
    const own = change(recordToItem(record));
    const sharded = change(recordToItem(record, 3));

    // Act & Assess
    expect(String(recordToItem(record, 3).tenant)).toContain('~');
    expect(insertedEntry(own)).toEqual({ tenant: 'acme', id: record.id });
    expect(insertedEntry(sharded)).toEqual({ tenant: 'acme', id: record.id });
  });

  it('reads nothing from a removal, a modification or an image that is not a sealed entry', () => {
    const { hash: _hash, ...unsealed } = recordToItem(record);
    expect(insertedEntry(change(recordToItem(record), 'remove'))).toBeUndefined();
    expect(insertedEntry(change(recordToItem(record), 'modify'))).toBeUndefined();
    expect(insertedEntry(change(unsealed))).toBeUndefined();
    expect(insertedEntry(change(undefined))).toBeUndefined();
  });
});
