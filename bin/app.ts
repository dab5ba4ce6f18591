import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { auditTrailApp } from './context.js';

/**
 * `npm run synth` / `npm run deploy`. The stack is environment-agnostic (account and region come
 * from the CLI's credentials at deploy time), so synthesis needs no AWS access.
 *
 * Every option of the AuditTrail construct can be set without editing code, as CDK context:
 * `npm run deploy -- -c defaultRetentionDays=90 -c archiveEnabled=false` (keys and meanings in
 * bin/context.ts `CONTEXT_KEYS` and docs/deploy.md).
 */
const app = new App();
auditTrailApp(app);
// Every AwsSolutions finding fails synthesis unless acknowledged, with a reason, next to its resource.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
// Synthesize explicitly so a finding fails this process even when it runs without the CLI.
app.synth();
