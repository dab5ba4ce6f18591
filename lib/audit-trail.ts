import { join } from 'node:path';
import {
  ArnFormat,
  Aws,
  type CfnElement,
  Duration,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sfnTasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { CONTROL_KEYS, EVENTS_KEYS } from '../lambdas/adapters/table-definitions.js';
import { CHUNK_RETRY } from '../lambdas/domain/export-plan.js';
import { parseOrigins } from '../lambdas/http/console-page.js';
import { AUTHORIZER_HANDLER, FALLBACK_HANDLER, ROUTES } from '../lambdas/routes.js';
import { BUNDLING, HANDLERS_DIR, handlerNames, NODE_OPTIONS, ROOT } from './bundling.js';
import { writeConsoleAssetsSync } from './console-bundle.js';
import {
  type BucketAccess,
  type FunctionNeeds,
  type FunctionRole,
  needsOf,
  type TableAccess,
} from './function-needs.js';

/** API Gateway stage throttling. */
export interface ThrottlingLimits {
  /** Steady-state requests per second across the stage. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

/** Properties of {@link AuditTrail}. */
export interface AuditTrailProps {
  /**
   * The API Gateway stage name (also part of resource names).
   * @default 'v1'
   */
  readonly stageName?: string;
  /**
   * Retention of a tenant's entries when it has not chosen its own, in days.
   * @default 365
   */
  readonly defaultRetentionDays?: number;
  /**
   * Retention of the records of calls made without a usable credential (the `#unauthenticated`
   * partition of the events table), in days. The retention scheduler purges them, never archived.
   * @default 30
   */
  readonly unauthenticatedRetentionDays?: number;
  /**
   * Whether purges archive the deleted entries to S3 for tenants that have not chosen.
   * @default true
   */
  readonly archiveEnabled?: boolean;
  /**
   * Stage-wide API throttling.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttling?: ThrottlingLimits;
  /**
   * Topic that every alarm notifies (alarm and back to OK).
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * What happens to the tables, buckets, key and secret when the stack is deleted. Tables also keep
   * deletion protection unless this is `DESTROY`.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Reserved concurrency of the purge and export workers, which protects the tables from a burst of
   * jobs. Set `false` in accounts whose concurrency quota is too small to reserve any (new accounts).
   * @default { purge: 2, export: 4 }
   */
  readonly workerConcurrency?: { readonly purge: number; readonly export: number } | false;
  /**
   * Chunks of one parallel export job compressed at once (the export state machine's Map
   * MaxConcurrency, at most 40 for an inline Map); also the export-chunk function's reserved
   * concurrency unless `workerConcurrency` is `false`.
   * @default 10
   */
  readonly exportParallelism?: number;
  /**
   * Retention of the function and access logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * A regional WAFv2 web ACL to associate with the API stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * Directory of the Lambda entry points (one function per `.ts` file).
   * @default lambdas/handlers of this repository
   */
  readonly handlersDir?: string;
  /**
   * Origins allowed to frame the console's embed mode (`/console?embed=1`) and post it a token,
   * e.g. `['https://app.example.com']` (the `frame-ancestors` of its Content-Security-Policy).
   * @default - none: the console cannot be framed
   */
  readonly consoleFrameAncestors?: readonly string[];
  /**
   * Origins (`https://console.example.com`, exact: scheme, host, optional port; no path, no
   * wildcard) whose browser pages may call the API. Answers to a request from one of them name it
   * in `Access-Control-Allow-Origin` and OPTIONS preflights are answered; other origins get no
   * `Access-Control-*` header. `/openapi.json` is readable from any origin regardless.
   * @default - none: CORS off
   */
  readonly corsAllowOrigins?: readonly string[];
}

/** An origin as browsers send it (what `corsAllowOrigins` takes; lambdas/config.ts checks the same). */
const ORIGIN = /^https?:\/\/(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Seconds API Gateway's own 429s (stage throttling, quotas) tell clients to wait (`Retry-After`). */
export const THROTTLED_RETRY_AFTER_SECONDS = 1;

/**
 * Refuses props the deployed service could not run with, at synth time rather than at the first
 * request (the functions check DEFAULT_RETENTION_DAYS the same way in lambdas/config.ts).
 */
const checkProps = (props: AuditTrailProps): void => {
  const fail = (message: string) => {
    throw new Error(`AuditTrail: ${message}`);
  };
  const known = (value: number | undefined): value is number =>
    value !== undefined && !Token.isUnresolved(value);
  if (
    props.stageName !== undefined &&
    !Token.isUnresolved(props.stageName) &&
    !/^[A-Za-z0-9_-]{1,128}$/.test(props.stageName)
  )
    fail(`stageName must be 1-128 letters, digits, "-" or "_", not "${props.stageName}"`);
  const days = props.defaultRetentionDays;
  if (known(days) && (!Number.isInteger(days) || days < 1 || days > 36_500))
    fail(`defaultRetentionDays must be a whole number of days from 1 to 36500, not ${days}`);
  const { rateLimit, burstLimit } = props.throttling ?? {};
  if (known(rateLimit) && !(rateLimit > 0)) fail(`throttling.rateLimit must be above 0, not ${rateLimit}`);
  if (known(burstLimit) && (!Number.isInteger(burstLimit) || burstLimit < 1))
    fail(`throttling.burstLimit must be a whole number from 1, not ${burstLimit}`);
  for (const worker of ['purge', 'export'] as const) {
    const reserved = props.workerConcurrency ? props.workerConcurrency[worker] : undefined;
    // 0 would reserve nothing and stop the worker from ever running.
    if (known(reserved) && (!Number.isInteger(reserved) || reserved < 1))
      fail(
        `workerConcurrency.${worker} must be a whole number from 1 (or workerConcurrency: false), not ${reserved}`,
      );
  }
};

const TABLE_READ = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
];
const TABLE_WRITE = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];
const KEY_DECRYPT = ['kms:Decrypt', 'kms:DescribeKey'];
const KEY_ENCRYPT = ['kms:Encrypt', 'kms:GenerateDataKey'];

const TIMEOUTS: Record<FunctionRole, Duration> = {
  // API Gateway gives up after 29 s; a function running longer would only burn money.
  api: Duration.seconds(29),
  authorizer: Duration.seconds(10),
  fallback: Duration.seconds(5),
  worker: Duration.minutes(15),
  queue: Duration.minutes(1),
  schedule: Duration.minutes(15),
};
const MEMORY: Record<FunctionRole, number> = {
  // More memory means more CPU: init and JSON/zip work finish sooner, usually for the same cost.
  api: 1024,
  authorizer: 512,
  fallback: 256,
  worker: 1536,
  queue: 1024,
  schedule: 1024,
};

/**
 * The whole Audit Trail service: REST API with a Lambda authorizer, one function per handler file,
 * the events and control tables, exports and archive buckets, the EventBridge ingest path, the
 * daily retention schedule, the cursor-signing secret, and alarms.
 */
export class AuditTrail extends Construct {
  readonly api: apigateway.RestApi;
  readonly eventsTable: dynamodb.Table;
  readonly controlTable: dynamodb.Table;
  readonly exportsBucket: s3.Bucket;
  readonly archiveBucket: s3.Bucket;
  readonly eventBus: events.EventBus;
  readonly ingestQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly cursorKey: secretsmanager.Secret;
  readonly dataKey: kms.Key;
  /** API 5xx, DLQ depth, and each function's errors and throttles. */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** Every function, by handler name. */
  readonly functions: ReadonlyMap<string, nodejs.NodejsFunction>;
  /** Runs export jobs: plan, chunks in parallel, finish (or abort). */
  readonly exportStateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: AuditTrailProps = {}) {
    super(scope, id);
    checkProps(props);
    const stageName = props.stageName ?? 'v1';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const throttling = props.throttling ?? { rateLimit: 100, burstLimit: 200 };
    const workerConcurrency = props.workerConcurrency ?? { purge: 2, export: 4 };
    const corsAllowOrigins = [...(props.corsAllowOrigins ?? [])];
    for (const origin of corsAllowOrigins) {
      if (!ORIGIN.test(origin))
        throw new Error(
          `corsAllowOrigins: "${origin}" is not an origin (scheme://host[:port], no path, no wildcard)`,
        );
    }
    const exportParallelism = props.exportParallelism ?? 10;
    if (!Number.isInteger(exportParallelism) || exportParallelism < 1 || exportParallelism > 40)
      throw new Error(`exportParallelism must be an integer from 1 to 40, not ${exportParallelism}`);

    // ---- Data -------------------------------------------------------------------------------
    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Encrypts the Audit Trail tables and buckets',
      enableKeyRotation: true,
      removalPolicy,
    });

    this.eventsTable = new dynamodb.Table(this, 'EventsTable', {
      partitionKey: { name: EVENTS_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: EVENTS_KEYS.sort, type: dynamodb.AttributeType.NUMBER },
      ...tableDefaults(this.dataKey, removalPolicy),
    });
    for (const [indexName, key] of [
      [EVENTS_KEYS.actionIndex, EVENTS_KEYS.actionKey],
      [EVENTS_KEYS.actorIndex, EVENTS_KEYS.actorKey],
      // Added after the first two: CloudFormation adds one GSI per stack update, so keep it last.
      [EVENTS_KEYS.apiCallIndex, EVENTS_KEYS.apiCallKey],
    ] as const) {
      this.eventsTable.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: key, type: dynamodb.AttributeType.STRING },
        sortKey: { name: EVENTS_KEYS.sort, type: dynamodb.AttributeType.NUMBER },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    this.controlTable = new dynamodb.Table(this, 'ControlTable', {
      partitionKey: { name: CONTROL_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: CONTROL_KEYS.sort, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: CONTROL_KEYS.ttl,
      ...tableDefaults(this.dataKey, removalPolicy),
    });

    const accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      // Server access log delivery only supports SSE-S3 on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
    Validations.of(accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket receives the server access logs of the exports and archive buckets; logging it too would loop.',
    });

    this.exportsBucket = new s3.Bucket(this, 'ExportsBucket', {
      ...bucketDefaults(this.dataKey, accessLogsBucket, 'exports/', removalPolicy),
      // Exports are served through presigned GETs valid for minutes; a day is ample, then they go.
      lifecycleRules: [
        { expiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // The console fetches a download's presigned GET (the 303 target) to show its progress.
      // The presigned URL is the credential, so any origin may read what it points at.
      cors: [
        {
          allowedMethods: [s3.HttpMethods.GET],
          allowedOrigins: ['*'],
          exposedHeaders: ['content-length', 'content-disposition'],
          maxAge: 3600,
        },
      ],
    });
    this.archiveBucket = new s3.Bucket(this, 'ArchiveBucket', {
      ...bucketDefaults(this.dataKey, accessLogsBucket, 'archive/', removalPolicy),
      versioned: true,
      // Lets an operator place compliance retention on archives; nothing here deletes them.
      objectLockEnabled: true,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });

    this.cursorKey = new secretsmanager.Secret(this, 'CursorKey', {
      description: 'HMAC-SHA256 key that signs pagination cursors (base64 of 48 random bytes)',
      // 64 base64 characters decode to 48 bytes; readCursorKey needs at least 32.
      generateSecretString: {
        passwordLength: 64,
        excludePunctuation: true,
        includeSpace: false,
      },
      removalPolicy,
    });
    Validations.of(this.cursorKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the cursor key invalidates every outstanding cursor at once (clients get 400 mid-pagination); it is rotated by hand, documented in docs/deploy.md, since cursors live at most CURSOR_TTL_SECONDS.',
    });

    // ---- Ingest path: EventBridge bus -> rule -> SQS (+ DLQ) -> ingest-queue ------------------
    this.deadLetterQueue = new sqs.Queue(this, 'IngestDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.ingestQueue = new sqs.Queue(this, 'IngestQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the consumer's timeout, as Lambda recommends, so a slow batch is not redelivered.
      visibilityTimeout: Duration.minutes(6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 3 },
    });
    this.eventBus = new events.EventBus(this, 'EventBus', {});
    new events.Rule(this, 'IngestRule', {
      eventBus: this.eventBus,
      description: 'Every event put on the audit bus by a producer of this account is ingested',
      eventPattern: { account: [Stack.of(this).account] },
      targets: [new eventsTargets.SqsQueue(this.ingestQueue)],
    });

    // ---- Functions ----------------------------------------------------------------------------
    const handlersDir = props.handlersDir ?? HANDLERS_DIR;
    const names = handlerNames(handlersDir);
    for (const name of [...ROUTES.map((route) => route.handler), AUTHORIZER_HANDLER, FALLBACK_HANDLER]) {
      if (!names.includes(name))
        throw new Error(`lambdas/routes.ts names handler "${name}" but ${name}.ts does not exist`);
    }
    const functions = new Map<string, nodejs.NodejsFunction>();
    const baseEnvironment: Record<string, string> = {
      EVENTS_TABLE: this.eventsTable.tableName,
      CONTROL_TABLE: this.controlTable.tableName,
      EXPORTS_BUCKET: this.exportsBucket.bucketName,
      ARCHIVE_BUCKET: this.archiveBucket.bucketName,
      JOB_LAUNCHER: 'lambda',
      DEFAULT_RETENTION_DAYS: String(props.defaultRetentionDays ?? 365),
      UNAUTHENTICATED_RETENTION_DAYS: String(props.unauthenticatedRetentionDays ?? 30),
      ARCHIVE_ENABLED: String(props.archiveEnabled ?? true),
      ...(corsAllowOrigins.length > 0 ? { CORS_ALLOW_ORIGINS: corsAllowOrigins.join(',') } : {}),
      NODE_OPTIONS,
    };
    // Workers get fixed names so that launchers, including a worker that re-launches itself to
    // continue a paused job, can name and be granted them without a circular reference.
    const workerName = (worker: string): string => `${Stack.of(this).stackName}-${worker}`.slice(0, 64);
    for (const name of names) {
      const needs = needsOf(name);
      const logGroup = new logs.LogGroup(this, `${pascal(name)}Logs`, {
        retention: logRetention,
        removalPolicy,
      });
      const role = new iam.Role(this, `${pascal(name)}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Runs the ${name} function`,
      });
      // Instead of the AWSLambdaBasicExecutionRole managed policy (any log group): its own group only.
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      const environment = { ...baseEnvironment };
      if (name === 'console') {
        // The page's CSP: who may frame it, and where it may follow a download's redirect.
        environment.CONSOLE_FRAME_ANCESTORS = parseOrigins(
          (props.consoleFrameAncestors ?? []).join(' '),
          'consoleFrameAncestors',
        ).join(' ');
        environment.CONSOLE_DOWNLOAD_ORIGINS = `https://${this.exportsBucket.bucketRegionalDomainName}`;
      }
      // Only the functions that sign cursors learn where the key is (and may read it: see below).
      if (needs.cursorKey) environment.CURSOR_KEY_SECRET_ARN = this.cursorKey.secretArn;
      for (const target of needs.invokes ?? []) {
        if (!names.includes(target) || needsOf(target).role !== 'worker')
          throw new Error(
            `${name} launches ${target}, but lambdas/handlers/${target}.ts is not a worker handler`,
          );
        environment[workerVariable(target)] = workerName(target);
        role.addToPolicy(
          new iam.PolicyStatement({
            actions: ['lambda:InvokeFunction'],
            resources: [
              Stack.of(this).formatArn({
                service: 'lambda',
                resource: 'function',
                resourceName: workerName(target),
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            ],
          }),
        );
      }
      const fn = new nodejs.NodejsFunction(this, `${pascal(name)}Function`, {
        entry: join(handlersDir, `${name}.ts`),
        projectRoot: ROOT,
        depsLockFilePath: join(ROOT, 'package-lock.json'),
        handler: 'handler',
        description: `Audit Trail ${name}`,
        ...(needs.role === 'worker' ? { functionName: workerName(name) } : {}),
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: MEMORY[needs.role],
        timeout: TIMEOUTS[needs.role],
        tracing: lambda.Tracing.ACTIVE,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        role,
        environment,
        ...(needs.role === 'worker' && workerConcurrency
          ? {
              reservedConcurrentExecutions: name.startsWith('purge')
                ? workerConcurrency.purge
                : name === 'export-chunk'
                  ? exportParallelism
                  : workerConcurrency.export,
            }
          : {}),
        bundling: {
          ...BUNDLING,
          mainFields: [...BUNDLING.mainFields],
          externalModules: [...BUNDLING.externalModules],
          format: nodejs.OutputFormat.ESM,
          ...(name === 'console' ? { commandHooks: consoleAssetsHook } : {}),
        },
      });
      this.grant(role, needs);
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
      });
      functions.set(name, fn);
    }
    this.functions = functions;

    const ingestConsumer = functions.get('ingest-queue');
    if (ingestConsumer) {
      ingestConsumer.addEventSource(
        new SqsEventSource(this.ingestQueue, { batchSize: 10, reportBatchItemFailures: true }),
      );
    }

    const retention = functions.get('purge-scheduler');
    if (retention) this.scheduleRetention(retention);

    // ---- Export jobs: a state machine runs plan → chunks (in parallel) → finish -------------------
    const fnNamed = (name: string): nodejs.NodejsFunction => {
      const fn = functions.get(name);
      if (!fn) throw new Error(`No function for handler ${name}`);
      return fn;
    };
    this.exportStateMachine = this.createExportStateMachine(
      fnNamed('export-worker'),
      fnNamed('export-chunk'),
      exportParallelism,
      logRetention,
      removalPolicy,
    );
    for (const [name, fn] of functions) {
      if (!needsOf(name).startsExports) continue;
      fn.addEnvironment('EXPORT_STATE_MACHINE_ARN', this.exportStateMachine.stateMachineArn);
      this.exportStateMachine.grantStartExecution(fn);
    }

    // ---- API ----------------------------------------------------------------------------------
    this.api = this.createApi(stageName, throttling, logRetention, removalPolicy, props.webAclArn);

    // ---- Alarms -------------------------------------------------------------------------------
    const alarms: cloudwatch.Alarm[] = [
      new cloudwatch.Alarm(this, 'Api5xxAlarm', {
        alarmDescription: 'The API answered 5xx (a bug or an AWS fault: bad input must get a 4xx)',
        metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        alarmDescription: 'Events from the bus could not be ingested after 3 tries and wait in the DLQ',
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const [name, fn] of functions) {
      alarms.push(
        new cloudwatch.Alarm(this, `${pascal(name)}ErrorsAlarm`, {
          alarmDescription: `The ${name} function failed (uncaught error or timeout)`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 1,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        new cloudwatch.Alarm(this, `${pascal(name)}ThrottlesAlarm`, {
          alarmDescription: `The ${name} function was throttled (concurrency exhausted)`,
          metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 1,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    alarms.push(
      new cloudwatch.Alarm(this, 'ExportFailedAlarm', {
        alarmDescription: 'An export job failed for good (a step kept failing); its download answers failed',
        metric: this.exportStateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    this.alarms = alarms;
    if (props.alarmTopic) this.addAlarmTopic(props.alarmTopic);
  }

  /**
   * The export state machine (docs/download.md, "Parallel export jobs"):
   * Plan → single: ExportWhole (the single-worker export) | parallel: ExportChunks (inline Map over
   * the chunk indexes, `parallelism` at once, each chunk retried) → Finish. A step that fails for
   * good goes to Abort (job failed, multipart upload aborted) and the execution fails.
   */
  private createExportStateMachine(
    worker: lambda.IFunction,
    chunk: lambda.IFunction,
    parallelism: number,
    logRetention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ): sfn.StateMachine {
    const job = { tenant: sfn.JsonPath.stringAt('$.tenant'), jobId: sfn.JsonPath.stringAt('$.jobId') };
    // A throttled invocation (reserved concurrency reached by other exports) waits its turn.
    const throttled: sfn.RetryProps = {
      errors: ['Lambda.TooManyRequestsException'],
      maxAttempts: 12,
      interval: Duration.seconds(5),
      backoffRate: 1.5,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    };
    const failing: sfn.RetryProps = {
      errors: [sfn.Errors.ALL],
      maxAttempts: CHUNK_RETRY.retries,
      interval: Duration.seconds(CHUNK_RETRY.intervalSeconds),
      backoffRate: CHUNK_RETRY.backoffRate,
    };
    const step = (id: string, name: string, resultPath: string, retries: sfn.RetryProps[]) => {
      const task = new sfnTasks.LambdaInvoke(this, id, {
        lambdaFunction: worker,
        payload: sfn.TaskInput.fromObject({ step: name, ...job }),
        payloadResponseOnly: true,
        resultPath,
      });
      for (const retry of retries) task.addRetry(retry);
      return task;
    };
    const plan = step('ExportPlan', 'plan', '$.plan', [throttled, failing]);
    // The single-worker export records its own failure on the job; retrying would start it over.
    const whole = step('ExportWhole', 'whole', sfn.JsonPath.DISCARD, [throttled]);
    const finish = step('ExportFinish', 'finish', sfn.JsonPath.DISCARD, [throttled, failing]);
    const abort = step('ExportAbort', 'abort', sfn.JsonPath.DISCARD, [throttled, failing]);
    const chunkTask = new sfnTasks.LambdaInvoke(this, 'ExportChunk', {
      lambdaFunction: chunk,
      payloadResponseOnly: true,
      resultPath: sfn.JsonPath.DISCARD,
    });
    chunkTask.addRetry(throttled);
    chunkTask.addRetry(failing);
    const chunks = new sfn.Map(this, 'ExportChunks', {
      itemsPath: '$.plan.chunks',
      itemSelector: { ...job, index: sfn.JsonPath.numberAt('$$.Map.Item.Value') },
      maxConcurrency: parallelism,
      resultPath: sfn.JsonPath.DISCARD,
    });
    chunks.itemProcessor(chunkTask);
    const done = new sfn.Succeed(this, 'ExportDone');
    abort.next(
      new sfn.Fail(this, 'ExportFailed', {
        error: 'ExportFailed',
        cause: 'A step failed for good: the job is marked failed and its multipart upload aborted',
      }),
    );
    for (const state of [plan, whole, chunks, finish]) state.addCatch(abort, { resultPath: '$.error' });
    const definition = plan.next(
      new sfn.Choice(this, 'ExportHow')
        .when(sfn.Condition.stringEquals('$.plan.mode', 'parallel'), chunks.next(finish).next(done))
        .when(sfn.Condition.stringEquals('$.plan.mode', 'single'), whole.next(done))
        .otherwise(done),
    );
    const logGroup = new logs.LogGroup(this, 'ExportStateMachineLogs', {
      retention: logRetention,
      removalPolicy,
    });
    const machine = new sfn.StateMachine(this, 'ExportStateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: 'Audit Trail export jobs: plan, compress chunks in parallel into one multipart upload, finish',
      timeout: Duration.hours(12),
      tracingEnabled: true,
      // Every state transition is logged; execution data (tenant ids) stays out of the logs.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    Validations.of(machine.role).acknowledge(
      ...[worker, chunk].map((fn) => ({
        id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn)}.Arn>:*]`,
        reason:
          'LambdaInvoke grants the function and its versions/aliases (ARN:*); only these two export functions are invocable.',
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing (xray:PutTraceSegments, …) and CloudWatch Logs delivery (logs:CreateLogDelivery, …) support no resource-level permissions.',
      },
    );
    return machine;
  }

  /** Makes every alarm notify `topic` when it fires and when it recovers. */
  addAlarmTopic(topic: sns.ITopic): void {
    const action = new cloudwatchActions.SnsAction(topic);
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }

  /** The exact data-plane permissions of `needs`, scoped to this service's resources. */
  private grant(role: iam.Role, needs: FunctionNeeds): void {
    const viaServices = {
      StringEquals: {
        'kms:ViaService': [`dynamodb.${Aws.REGION}.amazonaws.com`, `s3.${Aws.REGION}.amazonaws.com`],
      },
    };
    let keyActions: string[] = [];
    const table = (
      tableConstruct: dynamodb.Table,
      access: TableAccess | undefined,
      indexes: readonly string[],
    ) => {
      if (!access) return;
      const resources = [
        tableConstruct.tableArn,
        ...indexes.map((index) => `${tableConstruct.tableArn}/index/${index}`),
      ];
      role.addToPolicy(new iam.PolicyStatement({ actions: TABLE_READ, resources }));
      if (access === 'readWrite')
        role.addToPolicy(
          new iam.PolicyStatement({ actions: TABLE_WRITE, resources: [tableConstruct.tableArn] }),
        );
      keyActions = [...keyActions, ...KEY_DECRYPT, ...(access === 'readWrite' ? KEY_ENCRYPT : [])];
    };
    table(this.eventsTable, needs.events, [
      EVENTS_KEYS.actionIndex,
      EVENTS_KEYS.actorIndex,
      EVENTS_KEYS.apiCallIndex,
    ]);
    table(this.controlTable, needs.control, []);
    const bucket = (bucketConstruct: s3.Bucket, access: BucketAccess | undefined) => {
      if (!access) return;
      const reads = access !== 'write';
      const writes = access !== 'read';
      const deletes = access === 'readWriteDelete';
      if (reads) {
        role.addToPolicy(
          new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketConstruct.bucketArn] }),
        );
      }
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            ...(reads ? ['s3:GetObject'] : []),
            ...(writes ? ['s3:PutObject', 's3:AbortMultipartUpload'] : []),
            ...(deletes ? ['s3:DeleteObject'] : []),
          ],
          resources: [bucketConstruct.arnForObjects('*')],
        }),
      );
      // Multipart uploads to an SSE-KMS bucket decrypt the parts' data keys when completing.
      keyActions = [...keyActions, 'kms:Decrypt', ...(writes ? KEY_ENCRYPT : [])];
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucketConstruct)}.Arn>/*]`,
        reason: `Object keys are tenant-prefixed and created at run time, so object actions apply to every key of this one bucket (${bucketConstruct.node.id}); no other bucket is reachable.`,
      });
    };
    bucket(this.exportsBucket, needs.exports);
    bucket(this.archiveBucket, needs.archive);
    if (keyActions.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [...new Set(keyActions)].sort(),
          resources: [this.dataKey.keyArn],
          conditions: viaServices,
        }),
      );
    }
    if (needs.cursorKey) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.cursorKey.secretArn],
        }),
      );
    }
  }

  /** A daily EventBridge Scheduler schedule that runs the retention purge. */
  private scheduleRetention(fn: lambda.IFunction): void {
    const role = new iam.Role(this, 'RetentionScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'Lets EventBridge Scheduler run the daily retention purge',
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }),
    );
    new scheduler.CfnSchedule(this, 'RetentionSchedule', {
      description: "Daily: purge each tenant's entries older than its retention days",
      scheduleExpression: 'cron(15 3 * * ? *)',
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 30 },
      target: {
        arn: fn.functionArn,
        roleArn: role.roleArn,
        input: JSON.stringify({ source: 'retention-schedule' }),
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      },
    });
  }

  private createApi(
    stageName: string,
    throttling: ThrottlingLimits,
    logRetention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
    webAclArn: string | undefined,
  ): apigateway.RestApi {
    const fnOf = (name: string): nodejs.NodejsFunction => {
      const fn = this.functions.get(name);
      if (!fn) throw new Error(`No function for handler ${name}`);
      return fn;
    };
    const authorizer = new apigateway.RequestAuthorizer(this, 'RequestAuthorizer', {
      handler: fnOf(AUTHORIZER_HANDLER),
      // Credentials come as x-api-key, Authorization: Bearer, an auth_token query or form field, or
      // kore's auth header. API Gateway rejects a request lacking any configured identity source
      // with its own 401 (wrong body, and never audited), and caching requires identity sources. So
      // API Gateway caches nothing; the authorizer keeps a per-container cache of resolved tokens
      // (AUTH_CACHE_SECONDS) that spares DynamoDB the repeated look-ups.
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    (authorizer.node.defaultChild as apigateway.CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: `audit-trail-${stageName}`,
      description: 'Audit Trail: canary, kore and api-key audit-trail dialects over one store',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: removalPolicy,
      // Downloads are zips returned base64-encoded by Lambda proxy integrations. API Gateway decodes
      // them to bytes only when the request's Accept header or the response's Content-Type is a
      // binary media type; clients send anything from "*/*" to "text/html,…", so every type is
      // binary. Request bodies then arrive base64-encoded, which bodyText() decodes, and text
      // responses (isBase64Encoded false) pass through unchanged.
      binaryMediaTypes: ['application/zip', 'application/x-zip-compressed', '*/*'],
      deployOptions: {
        stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Full request/response logging would write credentials (auth_token, x-api-key) to logs.
        dataTraceEnabled: false,
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        // Standard fields log the resource template (not the raw path or query), so no credential.
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
      },
      defaultMethodOptions: { authorizer, authorizationType: apigateway.AuthorizationType.CUSTOM },
    });
    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-wide role API Gateway needs to write execution and access logs; AWS maintains its policy.',
      });
    }
    Validations.of(api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Requests are validated by each handler (zod) so that bad input gets a 400 in the dialect’s own error body; an API Gateway validator would answer with its own body.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Callers authenticate with service-issued API tokens and kore JWTs, resolved by the Lambda REQUEST authorizer; there is no Cognito user pool.',
      },
    );
    if (webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: api.deploymentStage.stageArn,
        webAclArn,
      });
    } else {
      Validations.of(api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'A WAF web ACL is account policy and costs per request; pass webAclArn to associate one. Stage throttling and the authorizer bound abuse meanwhile.',
      });
    }

    // Routes from lambdas/routes.ts, the same table the local gateway serves.
    const known = new Set<apigateway.Resource | apigateway.IResource>([api.root]);
    for (const route of ROUTES) {
      const resource = api.root.resourceForPath(route.path);
      for (let r: apigateway.IResource | undefined = resource; r; r = r.parentResource) known.add(r);
      const integration = new apigateway.LambdaIntegration(fnOf(route.handler));
      resource.addMethod(route.method, integration);
      // HEAD works wherever GET does: the GET handler answers it (and drops the body).
      if (route.method === 'GET') resource.addMethod('HEAD', integration);
    }
    // API Gateway's own 429s (stage throttling, usage-plan quotas) carry Retry-After like the
    // service's; they and its 413 (a body over 10 MB) answer in the error shape of the dialect.
    for (const [id, type] of [
      ['Throttled', apigateway.ResponseType.THROTTLED],
      ['QuotaExceeded', apigateway.ResponseType.QUOTA_EXCEEDED],
    ] as const) {
      api.addGatewayResponse(id, {
        type,
        statusCode: '429',
        responseHeaders: {
          'Retry-After': `'${THROTTLED_RETRY_AFTER_SECONDS}'`,
          'Cache-Control': "'no-store'",
        },
        templates: {
          'application/json': dialectErrorTemplate(
            429,
            'TooManyRequests',
            'Too many requests: retry after Retry-After seconds',
          ),
        },
      });
    }
    api.addGatewayResponse('RequestTooLarge', {
      type: apigateway.ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      responseHeaders: { 'Cache-Control': "'no-store'" },
      templates: {
        'application/json': dialectErrorTemplate(413, 'PayloadTooLarge', 'The request is larger than 10 MB'),
      },
    });
    // Everything else reaches the fallback, which answers 405 (with Allow) on a known path and 404
    // elsewhere, in the dialect's error shape. ANY on a resource only catches methods it lacks.
    // One API-wide invoke permission instead of one per method: the fallback answers any method
    // and path anyway, and dozens of per-method statements approach Lambda's 20 KB policy limit.
    const fallback = new apigateway.LambdaIntegration(fnOf(FALLBACK_HANDLER), {
      scopePermissionToMethod: false,
    });
    for (const resource of known) {
      resource.addMethod('ANY', fallback);
      // A resource cannot have two variable children, so a {name} child already catches the rest.
      const prefix = resource.path === '/' ? '/' : `${resource.path}/`;
      const hasVariableChild = ROUTES.some(
        (route) => route.path.startsWith(prefix) && route.path.slice(prefix.length).startsWith('{'),
      );
      if (!hasVariableChild) resource.addResource('{proxy+}').addMethod('ANY', fallback);
    }
    return api;
  }
}

/**
 * The body of an answer API Gateway makes itself, in the dialect of the route
 * (`$context.resourcePath`, the resource template, so a custom domain's base path does not
 * matter): kore under /api/public/, api-key at /api/v1/audit-trail, canary elsewhere (as
 * lambdas/http/dialects.ts `dialectOfPath` and `errorBody`).
 */
const dialectErrorTemplate = (status: number, name: string, message: string): string =>
  [
    '#if($context.resourcePath.startsWith("/api/public/"))',
    JSON.stringify({ errors: [{ msg: message, code: status }] }),
    '#elseif($context.resourcePath.startsWith("/api/v1/audit-trail"))',
    JSON.stringify({ message, name, status }),
    '#else',
    JSON.stringify({ result: 'error', message }),
    '#end',
  ].join('\n');

const tableDefaults = (key: kms.IKey, removalPolicy: RemovalPolicy) => ({
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
  encryptionKey: key,
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
  removalPolicy,
});

const bucketDefaults = (
  key: kms.IKey,
  logs: s3.IBucket,
  logPrefix: string,
  removalPolicy: RemovalPolicy,
) => ({
  encryption: s3.BucketEncryption.KMS,
  encryptionKey: key,
  // One data key per bucket instead of a KMS call per object.
  bucketKeyEnabled: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  serverAccessLogsBucket: logs,
  serverAccessLogsPrefix: logPrefix,
  removalPolicy,
});

/**
 * Puts the console's browser bundle (esbuild, at synth time) in `console/` beside the console
 * function's own bundle, where `lambdas/console-assets.ts` reads it.
 */
const consoleAssetsHook: nodejs.ICommandHooks = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (_inputDir, outputDir) => {
    writeConsoleAssetsSync(join(outputDir, 'console'));
    return [];
  },
};

/** "purge-worker" → "PurgeWorker", for construct ids. */
const pascal = (name: string): string =>
  name
    .split(/[^a-zA-Z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** "purge-worker" → "PURGE_WORKER_FUNCTION", the variable lambdas/config.ts reads. */
const workerVariable = (name: string): string =>
  `${name.replace(/-worker$/, '').toUpperCase()}_WORKER_FUNCTION`;

const logicalIdOf = (construct: Construct): string => {
  const cfn = construct.node.defaultChild;
  if (!cfn) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(cfn as CfnElement);
};
