import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { auditTrailApp, settingsFromContext } from '../../bin/context.js';
import { AuditTrailStack } from '../../lib/audit-trail-stack.js';

/**
 * `cdk synth|deploy -c key=value` reaches the template through bin/context.ts, and bad values and
 * props fail synthesis with a message naming them. Bundling is skipped (`aws:cdk:bundling-stacks`).
 */
const templateWith = (context: Record<string, unknown>): Template => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(auditTrailApp(app));
};

describe('App: CDK context', () => {
  let defaults: Template;
  let configured: Template;
  beforeAll(() => {
    defaults = templateWith({});
    // As `cdk deploy -c …` passes them: every value a string.
    configured = templateWith({
      stage: 'prod',
      defaultRetentionDays: '30',
      archiveEnabled: 'false',
      throttlingRateLimit: '50',
      throttlingBurstLimit: '75',
      removalPolicy: 'destroy',
      workerConcurrency: 'false',
      logRetentionDays: '30',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111122223333:ops',
      streamBatchSize: '250',
      streamBatchingWindowSeconds: '2',
      streamRetryAttempts: '5',
      streamMaxRecordAgeSeconds: '7200',
      streamIteratorAgeAlarmSeconds: '120',
    });
  });

  it('passes defaultRetentionDays and archiveEnabled to every function', () => {
    // Assess
    configured.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ DEFAULT_RETENTION_DAYS: '30', ARCHIVE_ENABLED: 'false' }),
      },
    });
    defaults.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ DEFAULT_RETENTION_DAYS: '365', ARCHIVE_ENABLED: 'true' }),
      },
    });
  });

  it('sets the stage name and its throttling', () => {
    // Assess
    configured.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 75 }),
      ]),
    });
  });

  it('sets log retention, removal policy, worker concurrency and the alarm topic', () => {
    // Assess
    configured.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    configured.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    for (const fn of Object.values(configured.findResources('AWS::Lambda::Function')))
      expect(
        (fn as { Properties: Record<string, unknown> }).Properties.ReservedConcurrentExecutions,
      ).toBeUndefined();
    configured.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: ['arn:aws:sns:eu-west-1:111122223333:ops'],
    });
    defaults.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    expect(
      Object.values(defaults.findResources('AWS::Lambda::Function'))
        .map((fn) => (fn as { Properties: Record<string, unknown> }).Properties.ReservedConcurrentExecutions)
        .filter((reserved) => reserved !== undefined)
        .sort((a, b) => Number(a) - Number(b)),
    ).toEqual([2, 4, 10]);
  });

  it('feeds the events stream to its consumer and alarms on its lag as configured', () => {
    // Assess
    configured.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 250,
      MaximumBatchingWindowInSeconds: 2,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 7200,
    });
    configured.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 120_000,
      AlarmActions: ['arn:aws:sns:eu-west-1:111122223333:ops'],
    });
    defaults.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 1,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 21_600,
    });
    defaults.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 60_000,
    });
  });

  it('reads worker concurrency and numbers from cdk.json values as well as -c strings', () => {
    // Prepare
    const app = new App({ context: { workerConcurrency: 'purge:1,export:3', defaultRetentionDays: 90 } });

    // Act
    const settings = settingsFromContext(app);

    // Assess
    expect(settings.auditTrail).toEqual({
      workerConcurrency: { purge: 1, export: 3 },
      defaultRetentionDays: 90,
    });
  });

  it.each([
    ['archiveEnabled', 'maybe', /archiveEnabled=maybe is not valid: expected true\|false/],
    ['defaultRetentionDays', 'ninety', /defaultRetentionDays=ninety is not valid/],
    [
      'workerConcurrency',
      'purge:2',
      /workerConcurrency=purge:2 is not valid: expected false, or purge:N,export:M/,
    ],
    ['removalPolicy', 'snapshot', /removalPolicy=snapshot is not valid: expected retain\|destroy/],
    ['logRetentionDays', '31', /logRetentionDays=31 is not valid/],
    ['stage', 'v 1', /stage=v 1 is not valid/],
    ['webAclArn', 'my-acl', /webAclArn=my-acl is not valid/],
    ['alarmTopicArn', 'ops', /alarmTopicArn=ops is not valid/],
    ['streamBatchSize', 'many', /streamBatchSize=many is not valid: expected most events-stream records/],
    ['streamMaxRecordAgeSeconds', '-60', /streamMaxRecordAgeSeconds=-60 is not valid/],
  ])('refuses -c %s=%s, saying what it expects', (key, value, message) => {
    // Act + Assess
    expect(() => settingsFromContext(new App({ context: { [key]: value } }))).toThrow(message);
  });
});

describe('Construct: AuditTrail props', () => {
  it.each([
    [
      { defaultRetentionDays: 0 },
      /defaultRetentionDays must be a whole number of days from 1 to 36500, not 0/,
    ],
    [{ defaultRetentionDays: 36_501 }, /defaultRetentionDays must be/],
    [{ throttling: { rateLimit: 0, burstLimit: 10 } }, /throttling\.rateLimit must be above 0/],
    [{ throttling: { rateLimit: 10, burstLimit: 0.5 } }, /throttling\.burstLimit must be a whole number/],
    [
      { workerConcurrency: { purge: 0, export: 4 } },
      /workerConcurrency\.purge must be a whole number from 1/,
    ],
    [{ stageName: 'v/1' }, /stageName must be 1-128 letters/],
    [
      { streamConsumer: { batchSize: 0 } },
      /streamConsumer\.batchSize must be a whole number from 1 to 10000, not 0/,
    ],
    [{ streamConsumer: { retryAttempts: 10_001 } }, /streamConsumer\.retryAttempts must be/],
    [
      { streamConsumer: { maxBatchingWindow: Duration.minutes(6) } },
      /streamConsumer\.maxBatchingWindow must be a whole number of seconds from 0 to 300, not 360/,
    ],
    [
      { streamConsumer: { maxRecordAge: Duration.seconds(30) } },
      /streamConsumer\.maxRecordAge must be a whole number of seconds from 60 to 604800/,
    ],
    [
      { streamConsumer: { iteratorAgeAlarmThreshold: Duration.millis(500) } },
      /streamConsumer\.iteratorAgeAlarmThreshold must be/,
    ],
  ])('refuses %j', (auditTrail, message) => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });

    // Act + Assess
    expect(() => new AuditTrailStack(app, 'AuditTrail', { auditTrail })).toThrow(message);
  });
});
