/**
 * One parallel export job in a fresh process, for bench/parallel-export.ts: the local export
 * driver (the state machine's steps, `concurrency` chunks at once) on the real use cases, sized by
 * `chunkEntries` and `minPartBytes`. Prints {entries, chunks, bytes, ms, peakRssBytes, chunkRates}
 * as JSON; `chunkRates` is each chunk's entries per second, `cpuMs` the CPU time this process used.
 *
 *   node --import tsx bench/parallel-export-child.ts <tenant> <concurrency> <chunkEntries> <minPartBytes>
 */
import { runExportMachine } from '../lambdas/adapters/in-process-export-machine.js';
import { loadConfig } from '../lambdas/composition/config.js';
import { coreServices, exportJobStore } from '../lambdas/composition/dynamodb.js';
import { parallelExportDependencies } from '../lambdas/composition/export-jobs.js';
import { newExportId } from '../lambdas/domain/export.js';
import { abortExport, finishExport } from '../lambdas/use-cases/finish-export.js';
import { planExport } from '../lambdas/use-cases/plan-export.js';
import { runExportChunk } from '../lambdas/use-cases/run-export-chunk.js';

const [tenant, concurrencyText, chunkEntriesText, minPartText] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const chunkEntries = Number(chunkEntriesText);
const minPartBytes = Number(minPartText);
if (!tenant || !(concurrency >= 1) || !(chunkEntries >= 1) || !(minPartBytes >= 1)) {
  console.error('usage: parallel-export-child.ts <tenant> <concurrency> <chunkEntries> <minPartBytes>');
  process.exit(2);
}

const services = coreServices(loadConfig(process.env));
const base = parallelExportDependencies(services.config);
const deps = { ...base, settings: { ...base.settings, maxChunkEntries: chunkEntries, minPartBytes } };
const jobs = exportJobStore(services.config);
const now = Date.now();
const jobId = newExportId(now);
await jobs.create({ tenant, jobId, status: 'running', createdAt: now, updatedAt: now });
const chunkRates: number[] = [];
const started = Date.now();
const cpuBefore = process.cpuUsage();
await runExportMachine(
  { kind: 'export', tenant, jobId },
  {
    concurrency,
    retry: { retries: 0, intervalMs: 0, backoffRate: 1 },
    invoke: async (handler, payload) => {
      if (handler === 'export-chunk') {
        const chunkStarted = Date.now();
        const result = await runExportChunk(deps, { tenant, jobId, chunk: { index: Number(payload.index) } });
        chunkRates.push((result?.entries ?? 0) / ((Date.now() - chunkStarted) / 1000));
        return result;
      }
      switch (payload.step) {
        case 'plan': {
          const plan = await planExport(deps, { tenant, jobId });
          return plan?.mode === 'parallel'
            ? { mode: 'parallel', chunks: plan.chunks.map((chunk) => chunk.index) }
            : { mode: plan ? 'single' : 'skip', chunks: [] };
        }
        case 'finish':
          return finishExport(deps, { tenant, jobId });
        case 'abort':
          return abortExport(deps, { tenant, jobId });
        default:
          throw new Error(`the bench runs parallel exports only, not ${String(payload.step)}`);
      }
    },
  },
);
const ms = Date.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const job = await jobs.get(tenant, jobId);
if (job?.status !== 'completed') throw new Error(`the export ended ${job?.status}`);
console.log(
  JSON.stringify({
    entries: job.entries,
    chunks: job.progress?.chunks ?? 1,
    bytes: job.bytes,
    ms,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    chunkRates,
    // CPU this process used (main thread and zlib's threads), in ms.
    cpuMs: (cpu.user + cpu.system) / 1000,
  }),
);
