import { describe, expect, it } from '@jest/globals';
import {
  type ExportTaskHandler,
  runExportMachine,
} from '../../lambdas/adapters/in-process-export-machine.js';

const MESSAGE = { kind: 'export', tenant: 'acme', jobId: 'exp_0mx3kkghi809293ef72c4' } as const;
const RETRY = { retries: 3, intervalMs: 1, backoffRate: 2 };

/** A fake set of task handlers: records every call; `chunk` decides each chunk attempt's fate. */
const fakeTasks = (
  mode: 'single' | 'parallel',
  chunks: number,
  chunk: (index: number, attempt: number) => boolean,
) => {
  const calls: string[] = [];
  const attempts = new Map<number, number>();
  let inFlight = 0;
  let mostInFlight = 0;
  const invoke = async (handler: ExportTaskHandler, payload: Record<string, unknown>) => {
    if (handler === 'export-worker') {
      calls.push(String(payload.step));
      if (payload.step === 'plan')
        return { mode, chunks: Array.from({ length: chunks }, (_, index) => index) };
      return undefined;
    }
    const index = Number(payload.index);
    const attempt = (attempts.get(index) ?? 0) + 1;
    attempts.set(index, attempt);
    calls.push(`chunk ${index}`);
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
    inFlight -= 1;
    if (!chunk(index, attempt)) throw new Error(`chunk ${index} failed`);
    return { index };
  };
  return { invoke, calls, attempts, mostInFlight: () => mostInFlight };
};

describe('Function: runExportMachine', () => {
  it('runs every chunk at most `concurrency` at once, then finishes', async () => {
    // Prepare
    const tasks = fakeTasks('parallel', 7, () => true);
    // Act
    await runExportMachine(MESSAGE, { invoke: tasks.invoke, concurrency: 3, retry: RETRY });
    // Assess
    expect(tasks.mostInFlight()).toBe(3);
    expect(tasks.calls.filter((call) => call.startsWith('chunk'))).toHaveLength(7);
    expect(tasks.calls[0]).toBe('plan');
    expect(tasks.calls.at(-1)).toBe('finish');
    expect(tasks.calls).not.toContain('abort');
  });

  it('retries a failing chunk (twice here) and finishes without aborting', async () => {
    // Prepare
    const tasks = fakeTasks('parallel', 4, (index, attempt) => index !== 2 || attempt > 2);
    // Act
    await runExportMachine(MESSAGE, { invoke: tasks.invoke, concurrency: 2, retry: RETRY });
    // Assess
    expect(tasks.attempts.get(2)).toBe(3);
    expect(tasks.calls.at(-1)).toBe('finish');
    expect(tasks.calls).not.toContain('abort');
  });

  it('aborts after a chunk fails for good, starting no further chunks and never finishing', async () => {
    // Prepare
    const tasks = fakeTasks('parallel', 5, (index) => index !== 1);
    // Act
    const run = runExportMachine(MESSAGE, { invoke: tasks.invoke, concurrency: 1, retry: RETRY });
    // Assess
    await expect(run).rejects.toThrow('chunk 1 failed');
    expect(tasks.attempts.get(1)).toBe(1 + RETRY.retries);
    expect(tasks.attempts.has(2)).toBe(false);
    expect(tasks.calls).not.toContain('finish');
    expect(tasks.calls.at(-1)).toBe('abort');
  });

  it('runs the single-worker export when the plan has one chunk', async () => {
    // Prepare
    const tasks = fakeTasks('single', 0, () => true);
    // Act
    await runExportMachine(MESSAGE, { invoke: tasks.invoke, concurrency: 4, retry: RETRY });
    // Assess
    expect(tasks.calls).toEqual(['plan', 'whole']);
  });
});
