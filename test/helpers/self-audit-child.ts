/**
 * The local service in a process of its own, for the fault test that kills it right after it
 * answers (test/faults/self-audit-delivery.test.ts). It hands self-audit records to the journal but
 * does not store them (`consumeSelfAudit: false`): like a function whose log line had not been
 * delivered yet when it died. Takes its settings as JSON in SELF_AUDIT_CHILD; prints
 * `READY <url> <token>` once it serves.
 */
import { issueToken } from '../../lambdas/use-cases/manage-tokens.js';
import type { EmulatorEndpoints } from '../../local/emulators.js';
import { startLocalService } from '../../local/stack.js';

interface ChildSettings {
  readonly emulators: EmulatorEndpoints;
  readonly names: {
    readonly eventsTable: string;
    readonly controlTable: string;
    readonly exportsBucket: string;
    readonly archiveBucket: string;
  };
  readonly cursorKey: string;
  readonly journal: string;
  readonly tenant: string;
}

const settings = JSON.parse(process.env.SELF_AUDIT_CHILD ?? '') as ChildSettings;
const service = await startLocalService(settings.emulators, {
  names: settings.names,
  cursorKey: settings.cursorKey,
  port: 0,
  selfAuditJournal: settings.journal,
  consumeSelfAudit: false,
});
const { token } = await issueToken(
  service.services.tokens,
  { tenant: settings.tenant, scopes: ['read'] },
  service.services.tenants,
);
process.stdout.write(`READY ${service.url} ${token}\n`);
