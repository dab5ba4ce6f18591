import { App, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AuditTrailStack } from '../lib/audit-trail-stack.js';

/**
 * `npm run synth` / `npm run deploy`. The stack is environment-agnostic (account and region come
 * from the CLI's credentials at deploy time), so synthesis needs no AWS access.
 *
 * Optional context: `-c stage=prod` (API stage name, default v1) and
 * `-c alarmTopicArn=arn:aws:sns:…` (an existing topic every alarm notifies), and
 * `-c consoleFrameAncestors="https://app.example.com https://admin.example.com"` (origins that may
 * frame the console's embed mode).
 */
const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'v1');
const alarmTopicArn: unknown = app.node.tryGetContext('alarmTopicArn');
const frameAncestors = String(app.node.tryGetContext('consoleFrameAncestors') ?? '')
  .split(/[\s,]+/)
  .filter((origin) => origin.length > 0);
const stack = new AuditTrailStack(app, 'AuditTrail', {
  description: 'Audit Trail Service: multi-tenant audit trail with canary, kore and api-key dialects',
  auditTrail: { stageName: stage, consoleFrameAncestors: frameAncestors },
});
if (typeof alarmTopicArn === 'string' && alarmTopicArn) {
  stack.auditTrail.addAlarmTopic(sns.Topic.fromTopicArn(stack, 'AlarmTopic', alarmTopicArn));
}
// Every AwsSolutions finding fails synthesis unless acknowledged, with a reason, next to its resource.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
// Synthesize explicitly so a finding fails this process even when it runs without the CLI.
app.synth();
