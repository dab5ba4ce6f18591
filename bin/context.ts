import { type App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { AuditTrailProps, StreamConsumerSettings } from '../lib/audit-trail.js';
import { AuditTrailStack } from '../lib/audit-trail-stack.js';

/**
 * The CDK context keys the app reads (`cdk deploy -c key=value`, or `"context"` in cdk.json), each
 * an {@link AuditTrailProps} option (defaults there) or the alarm topic. `-c` values arrive as
 * strings, cdk.json values may be numbers or booleans: both are accepted.
 */
export const CONTEXT_KEYS = {
  stage: 'API stage name (stageName)',
  defaultRetentionDays: 'days a tenant without its own setting keeps entries',
  archiveEnabled: 'true|false: whether purges archive for tenants that have not chosen',
  throttlingRateLimit: 'stage-wide steady requests per second',
  throttlingBurstLimit: 'stage-wide burst',
  removalPolicy: 'retain|destroy: what deleting the stack does to tables, buckets, key, secret',
  workerConcurrency: 'false, or purge:N,export:M (reserved concurrency of the workers)',
  logRetentionDays: 'days function and access logs are kept (a CloudWatch retention value)',
  webAclArn: 'a regional WAFv2 web ACL to associate with the stage',
  alarmTopicArn: 'an existing SNS topic every alarm notifies',
  consoleFrameAncestors: 'origins (space- or comma-separated) allowed to frame the console embed mode',
  exportParallelism: 'export chunks run at once by the export state machine (1-40)',
  unauthenticatedRetentionDays:
    'days the #unauthenticated partition (calls without a usable credential) keeps entries',
  corsAllowOrigins: 'origins (space- or comma-separated, scheme://host[:port]) whose pages may call the API',
  streamBatchSize: 'most events-stream records per derive-stream invocation (1-10000)',
  streamBatchingWindowSeconds: 'seconds Lambda gathers events-stream records before invoking (0-300)',
  streamRetryAttempts: 'retries of a failing events-stream batch before it goes to the stream DLQ (0-10000)',
  streamMaxRecordAgeSeconds: 'seconds after which an events-stream record goes to the stream DLQ (60-604800)',
  streamIteratorAgeAlarmSeconds: 'seconds of consumer lag (iterator age) that fire the alarm',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;

/** What the context asks for: the construct's props, and an existing alarm topic. */
export interface AppSettings {
  readonly auditTrail: AuditTrailProps;
  readonly alarmTopicArn?: string;
}

const invalid = (key: ContextKey, value: unknown): Error =>
  new Error(`Context ${key}=${String(value)} is not valid: expected ${CONTEXT_KEYS[key]}.`);

const number = (key: ContextKey, value: unknown): number => {
  const parsed = typeof value === 'number' ? value : Number(String(value).trim());
  if (String(value).trim() === '' || !Number.isFinite(parsed)) throw invalid(key, value);
  return parsed;
};

/** A duration given in seconds; the construct checks its range. */
const seconds = (key: ContextKey, value: unknown): Duration => {
  const parsed = number(key, value);
  if (parsed < 0) throw invalid(key, value);
  return Duration.seconds(parsed);
};

const boolean = (key: ContextKey, value: unknown): boolean => {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalid(key, value);
};

const text = (key: ContextKey, value: unknown, pattern: RegExp): string => {
  const parsed = String(value).trim();
  if (!pattern.test(parsed)) throw invalid(key, value);
  return parsed;
};

/** A list of origins; the construct checks each one's form. */
const origins = (value: unknown): string[] =>
  String(value)
    .split(/[\s,]+/)
    .filter((origin) => origin.length > 0);

const workerConcurrency = (value: unknown): AuditTrailProps['workerConcurrency'] => {
  if (value === false || value === 'false') return false;
  const match = /^purge:(\d+),export:(\d+)$/.exec(String(value).replace(/\s+/g, ''));
  if (!match) throw invalid('workerConcurrency', value);
  return { purge: Number(match[1]), export: Number(match[2]) };
};

const removalPolicy = (value: unknown): RemovalPolicy => {
  const parsed = String(value).trim().toLowerCase();
  if (parsed === 'retain') return RemovalPolicy.RETAIN;
  if (parsed === 'destroy') return RemovalPolicy.DESTROY;
  throw invalid('removalPolicy', value);
};

const logRetention = (value: unknown): logs.RetentionDays => {
  const days = number('logRetentionDays', value);
  const allowed = Object.values(logs.RetentionDays).filter((entry) => typeof entry === 'number');
  if (!allowed.includes(days)) throw invalid('logRetentionDays', value);
  return days as logs.RetentionDays;
};

/**
 * Reads the app's settings from CDK context; an absent key keeps the construct's default. Range
 * checks (retention days, limits) are the construct's, so direct users of it get them too.
 *
 * @throws Error naming the key and what it expects, for a value that cannot be read
 * @example
 * // cdk deploy -c defaultRetentionDays=90 -c archiveEnabled=false
 * const settings = settingsFromContext(app); // { auditTrail: { defaultRetentionDays: 90, archiveEnabled: false } }
 */
export const settingsFromContext = (app: App): AppSettings => {
  const read = (key: ContextKey): unknown => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : value;
  };
  const props: { -readonly [K in keyof AuditTrailProps]: AuditTrailProps[K] } = {};
  const stage = read('stage');
  if (stage !== undefined) props.stageName = text('stage', stage, /^[A-Za-z0-9_-]{1,128}$/);
  const retentionDays = read('defaultRetentionDays');
  if (retentionDays !== undefined) props.defaultRetentionDays = number('defaultRetentionDays', retentionDays);
  const archive = read('archiveEnabled');
  if (archive !== undefined) props.archiveEnabled = boolean('archiveEnabled', archive);
  const rate = read('throttlingRateLimit');
  const burst = read('throttlingBurstLimit');
  if (rate !== undefined || burst !== undefined) {
    props.throttling = {
      rateLimit: rate === undefined ? 100 : number('throttlingRateLimit', rate),
      burstLimit: burst === undefined ? 200 : number('throttlingBurstLimit', burst),
    };
  }
  const removal = read('removalPolicy');
  if (removal !== undefined) props.removalPolicy = removalPolicy(removal);
  const workers = read('workerConcurrency');
  if (workers !== undefined) props.workerConcurrency = workerConcurrency(workers);
  const logDays = read('logRetentionDays');
  if (logDays !== undefined) props.logRetention = logRetention(logDays);
  const webAcl = read('webAclArn');
  if (webAcl !== undefined) props.webAclArn = text('webAclArn', webAcl, /^arn:aws[a-z-]*:wafv2:[^\s]+$/);
  const parallelism = read('exportParallelism');
  if (parallelism !== undefined) props.exportParallelism = number('exportParallelism', parallelism);
  const unauthenticatedDays = read('unauthenticatedRetentionDays');
  if (unauthenticatedDays !== undefined)
    props.unauthenticatedRetentionDays = number('unauthenticatedRetentionDays', unauthenticatedDays);
  const frameAncestors = read('consoleFrameAncestors');
  if (frameAncestors !== undefined) props.consoleFrameAncestors = origins(frameAncestors);
  const cors = read('corsAllowOrigins');
  if (cors !== undefined) props.corsAllowOrigins = origins(cors);
  const stream: { -readonly [K in keyof StreamConsumerSettings]: StreamConsumerSettings[K] } = {};
  const batchSize = read('streamBatchSize');
  if (batchSize !== undefined) stream.batchSize = number('streamBatchSize', batchSize);
  const window = read('streamBatchingWindowSeconds');
  if (window !== undefined) stream.maxBatchingWindow = seconds('streamBatchingWindowSeconds', window);
  const retries = read('streamRetryAttempts');
  if (retries !== undefined) stream.retryAttempts = number('streamRetryAttempts', retries);
  const recordAge = read('streamMaxRecordAgeSeconds');
  if (recordAge !== undefined) stream.maxRecordAge = seconds('streamMaxRecordAgeSeconds', recordAge);
  const iteratorAge = read('streamIteratorAgeAlarmSeconds');
  if (iteratorAge !== undefined)
    stream.iteratorAgeAlarmThreshold = seconds('streamIteratorAgeAlarmSeconds', iteratorAge);
  if (Object.keys(stream).length > 0) props.streamConsumer = stream;
  const topic = read('alarmTopicArn');
  return {
    auditTrail: props,
    ...(topic !== undefined
      ? { alarmTopicArn: text('alarmTopicArn', topic, /^arn:aws[a-z-]*:sns:[^\s]+$/) }
      : {}),
  };
};

/** The `AuditTrail` stack of `npm run synth` / `npm run deploy`, configured from CDK context. */
export const auditTrailApp = (app: App): AuditTrailStack => {
  const settings = settingsFromContext(app);
  const stack = new AuditTrailStack(app, 'AuditTrail', {
    description: 'Audit Trail Service: multi-tenant audit trail with canary, kore and api-key dialects',
    auditTrail: settings.auditTrail,
  });
  if (settings.alarmTopicArn) {
    stack.auditTrail.addAlarmTopic(sns.Topic.fromTopicArn(stack, 'AlarmTopic', settings.alarmTopicArn));
  }
  return stack;
};
