import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AuditTrailStack } from '../lib/audit-trail-stack.js';

/**
 * `npm run synth` / `npm run deploy`. The stack is environment-agnostic (account and region come
 * from the CLI's credentials at deploy time), so synthesis needs no AWS access. Optional context:
 * `-c stage=prod`, `-c alarmTopicArn=arn:aws:sns:…` is not read here: wire a topic in code via
 * `auditTrail.alarmTopic`.
 */
const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'v1');
new AuditTrailStack(app, 'AuditTrail', {
  description: 'Audit Trail Service: multi-tenant audit trail with canary, kore and api-key dialects',
  auditTrail: { stageName: stage },
});
// Every AwsSolutions finding fails synthesis unless acknowledged, with a reason, next to its resource.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
