import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { JournalSelfAuditChannel } from '../../lambdas/adapters/self-audit-channels.js';
import { parseSelfAuditLine, type SelfAuditRecord } from '../../lambdas/domain/self-audit-line.js';
import { checkpointPathOf, startJournalConsumer } from '../../local/self-audit-journal.js';

const record = (key: string): SelfAuditRecord => ({
  key,
  tenant: 'acme',
  draft: {
    timestamp: 1_780_000_000_000,
    action_type: 'api_request',
    category: 'Audit trail',
    message: 'GET /api/v1/audit_trail/fetch 200',
    request: { uri: '/api/v1/audit_trail/fetch', method: 'GET', status: 200, query_parameters: {} },
  },
});

describe('the local self-audit journal', () => {
  let folder: string;
  let path: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'ats-journal-'));
    path = join(folder, 'nested', 'self-audit.jsonl');
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  /** A consumer that keeps the keys it was handed. */
  const consumer = (handed: string[], options: { truncateBytes?: number; fail?: () => boolean } = {}) =>
    startJournalConsumer({
      path,
      pollMs: 5,
      retryMs: 5,
      ...(options.truncateBytes !== undefined ? { truncateBytes: options.truncateBytes } : {}),
      handle: async (lines) => {
        if (options.fail?.()) throw new Error('store down');
        for (const line of lines) handed.push(parseSelfAuditLine(line)?.key ?? `other:${line}`);
      },
    });

  it('hands each line over once, resumes from its checkpoint, and ends a line a dying writer cut', async () => {
    // Prepare
    const channel = new JournalSelfAuditChannel(path);
    channel.hand(record('a'));
    const handed: string[] = [];
    const first = consumer(handed);
    await first.drain();
    channel.hand(record('b'));
    await first.drain();
    await first.stop();
    // Written while no consumer ran, then a line cut short by a writer that died.
    channel.hand(record('c'));
    appendFileSync(path, '{"selfAudit":"audit-trail.self-audit.v1","key":"cut');

    // Act
    const second = consumer(handed);
    channel.hand(record('d'));
    await second.drain();
    await second.stop();

    // Assess
    expect(handed).toEqual(['a', 'b', 'c', 'other:{"selfAudit":"audit-trail.self-audit.v1","key":"cut', 'd']);
    expect(Number(readFileSync(checkpointPathOf(path), 'utf8'))).toBe(statSync(path).size);
  });

  it('retries a failed batch until it is stored, and drains only then', async () => {
    // Prepare
    const channel = new JournalSelfAuditChannel(path);
    let failures = 3;
    const handed: string[] = [];
    const running = consumer(handed, { fail: () => failures-- > 0 });

    // Act
    channel.hand(record('a'));
    await running.drain();
    await running.stop();

    // Assess
    expect(handed).toEqual(['a']);
    expect(running.stats.failures).toBe(3);
  });

  it('empties a journal it has handled once it is large, and goes on from the start', async () => {
    // Prepare
    const channel = new JournalSelfAuditChannel(path);
    const handed: string[] = [];
    const running = consumer(handed, { truncateBytes: 1 });
    channel.hand(record('a'));
    await running.drain();
    // Act: the next poll empties it; lines written after go on from offset 0.
    while (statSync(path).size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    channel.hand(record('b'));
    await running.drain();
    await running.stop();

    // Assess
    expect(handed).toEqual(['a', 'b']);
    expect(readFileSync(path, 'utf8')).toBe('');
    expect(readFileSync(checkpointPathOf(path), 'utf8')).toBe('0');
  });
});
