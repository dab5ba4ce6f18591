/**
 * One export in a fresh process, for bench/download.ts: `streaming` runs the real download use
 * case; `baseline` reads every entry into memory, builds the JSON and the zip in memory, then
 * stores it like the service would. Prints {entries, mode, bytes, ms, peakRssBytes, peakHeapBytes,
 * peakExternalBytes} as JSON.
 *
 *   node --import tsx bench/download-child.ts streaming|baseline <tenant>
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import yazl from 'yazl';
import { InProcessJobLauncher } from '../lambdas/adapters/in-process-job-launcher.js';
import { loadConfig } from '../lambdas/composition/config.js';
import { downloadDependencies } from '../lambdas/composition/downloads.js';
import { coreServices } from '../lambdas/composition/dynamodb.js';
import { installExportLauncher } from '../lambdas/composition/export-launcher.js';
import { installJobLauncher } from '../lambdas/composition/job-launcher.js';
import { s3Client } from '../lambdas/composition/objects.js';
import { toCanaryEntry } from '../lambdas/domain/canary-view.js';
import {
  EXPORT_CONTENT_TYPE,
  EXPORT_JSON_NAME,
  exportObjectKey,
  newExportId,
} from '../lambdas/domain/export.js';
import { MAX_ID } from '../lambdas/domain/ids.js';
import type { AuditRecord } from '../lambdas/domain/record.js';
import { downloadAuditTrail } from '../lambdas/use-cases/download-audit-trail.js';

const [mode, tenant] = process.argv.slice(2);
if ((mode !== 'streaming' && mode !== 'baseline') || !tenant) {
  console.error('usage: download-child.ts streaming|baseline <tenant>');
  process.exit(2);
}

const services = coreServices(loadConfig(process.env));
// As in the local stack (the export runs within this process's budget, so no job starts).
const launcher = new InProcessJobLauncher({
  budgetMs: services.config.LOCAL_WORKER_BUDGET_MS,
  exports: { concurrency: 1, retry: { retries: 0, intervalMs: 0, backoffRate: 1 } },
});
installJobLauncher(launcher);
installExportLauncher(launcher);
// Where the peak is: V8's heap (what it reserved) and buffers outside it, sampled as it runs.
const peaks = { heapTotal: 0, external: 0 };
const sample = () => {
  const usage = process.memoryUsage();
  peaks.heapTotal = Math.max(peaks.heapTotal, usage.heapTotal);
  peaks.external = Math.max(peaks.external, usage.external);
};
setInterval(sample, 25).unref();
const started = Date.now();
let result: { entries: number; mode: string; bytes: number };

if (mode === 'streaming') {
  const outcome = await downloadAuditTrail(downloadDependencies(services.config), {
    tenant,
    tokenId: 'tok_bench',
    tokenName: 'bench',
    budgetMs: 15 * 60_000,
  });
  if (outcome.kind === 'pending') throw new Error('the export became a job');
  result = {
    entries: outcome.entries,
    mode: outcome.kind === 'inline' ? 'inline' : outcome.mode,
    bytes: outcome.kind === 'inline' ? outcome.zip.length : 0,
  };
} else {
  const records: AuditRecord[] = [];
  let maxId = MAX_ID;
  for (;;) {
    const page = await services.events.queryPage({
      tenant,
      selector: { kind: 'all' },
      minId: 0,
      maxId,
      newestFirst: true,
      limit: 1000,
    });
    records.push(...page.records);
    const last = page.records[page.records.length - 1];
    if (!last || page.records.length < 1000) break;
    maxId = last.id - 1;
  }
  const json = JSON.stringify({ audit_trail: records.map((record) => toCanaryEntry(record)) });
  const archive = new yazl.ZipFile();
  archive.addBuffer(Buffer.from(json, 'utf8'), EXPORT_JSON_NAME, { compressionLevel: 6 });
  archive.end();
  const chunks: Buffer[] = [];
  for await (const chunk of archive.outputStream) chunks.push(chunk as Buffer);
  const zip = Buffer.concat(chunks);
  let stored = 'inline';
  if (zip.length > services.config.DOWNLOAD_INLINE_MAX_BYTES) {
    await s3Client(services.config).send(
      new PutObjectCommand({
        Bucket: services.config.EXPORTS_BUCKET,
        Key: exportObjectKey(tenant, newExportId(Date.now())),
        Body: zip,
        ContentType: EXPORT_CONTENT_TYPE,
      }),
    );
    stored = 's3';
  }
  result = { entries: records.length, mode: stored, bytes: zip.length };
}

const ms = Date.now() - started;
sample();
// maxRSS is in kilobytes: the process's peak resident set, module loading included.
process.stdout.write(
  `${JSON.stringify({ ...result, ms, peakRssBytes: process.resourceUsage().maxRSS * 1024, peakHeapBytes: peaks.heapTotal, peakExternalBytes: peaks.external })}\n`,
);
process.exit(0);
