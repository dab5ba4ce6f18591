import { type Duration, type RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { needsOf, recordsCalls } from './function-needs.js';
import { Alarms } from './parts/alarms.js';
import { Api, type ThrottlingLimits } from './parts/api.js';
import { DEFAULTS } from './parts/defaults.js';
import { Functions } from './parts/functions.js';
import { Ingest, type StreamConsumerSettings } from './parts/ingest.js';
import { Jobs } from './parts/jobs.js';
import { SelfAudit } from './parts/self-audit.js';
import { Storage } from './parts/storage.js';

export { THROTTLED_RETRY_AFTER_SECONDS, type ThrottlingLimits } from './parts/api.js';
export type { StreamConsumerSettings } from './parts/ingest.js';

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
  /**
   * How the events table's stream feeds the derive-stream consumer that builds the counters
   * (batch size and window, retries, record age), and when its iterator-age alarm fires.
   * @default { batchSize: 500, maxBatchingWindow: Duration.seconds(1), retryAttempts: 10,
   *   maxRecordAge: Duration.hours(6), iteratorAgeAlarmThreshold: Duration.seconds(60) }
   */
  readonly streamConsumer?: StreamConsumerSettings;
}

/** An origin as browsers send it (what `corsAllowOrigins` takes; lambdas/config.ts checks the same). */
const ORIGIN = /^https?:\/\/(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

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
  const within = (name: string, value: number | undefined, min: number, max: number, unit = '') => {
    if (known(value) && (!Number.isInteger(value) || value < min || value > max))
      fail(`streamConsumer.${name} must be a whole number${unit} from ${min} to ${max}, not ${value}`);
  };
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
  // Lambda's limits for a DynamoDB stream mapping; refused here with the prop's name, not at deploy.
  const stream = props.streamConsumer ?? {};
  const seconds = (duration: Duration | undefined) =>
    duration === undefined || duration.isUnresolved() ? undefined : duration.toSeconds({ integral: false });
  within('batchSize', stream.batchSize, 1, 10_000);
  within('maxBatchingWindow', seconds(stream.maxBatchingWindow), 0, 300, ' of seconds');
  within('retryAttempts', stream.retryAttempts, 0, 10_000);
  within('maxRecordAge', seconds(stream.maxRecordAge), 60, 604_800, ' of seconds');
  within('iteratorAgeAlarmThreshold', seconds(stream.iteratorAgeAlarmThreshold), 1, 86_400, ' of seconds');
};

/** The parts an {@link AuditTrail} is built from (lib/parts/), for wiring more onto them. */
export interface AuditTrailParts {
  readonly storage: Storage;
  readonly functions: Functions;
  readonly ingest: Ingest;
  readonly jobs: Jobs;
  readonly api: Api;
  readonly alarms: Alarms;
  /** The self-audit path (log subscriptions to the store-self-audit function); absent without that handler. */
  readonly selfAudit?: SelfAudit;
}

/**
 * The whole Audit Trail service: REST API with a Lambda authorizer, one function per handler file,
 * the events table (with its stream and the consumer deriving the counters from it) and control
 * table, exports and archive buckets, the EventBridge ingest path, the
 * daily retention schedule, the cursor-signing secret, and alarms. It composes the parts in
 * lib/parts/ (storage, functions, ingest, jobs, API, alarms); their ids stay out of the logical
 * ids (lib/parts/part.ts), so the template is the one this construct had before it had parts.
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
  /** Where Lambda records events-stream batches the derive-stream consumer gave up on. */
  readonly streamDeadLetterQueue?: sqs.Queue;
  /** Where Lambda records self-audit deliveries the store-self-audit function failed to store. */
  readonly selfAuditDeadLetterQueue?: sqs.Queue;
  readonly cursorKey: secretsmanager.Secret;
  readonly dataKey: kms.Key;
  /**
   * API 5xx, DLQ depths, each function's errors and throttles, failed exports, and the events
   * stream consumer's iterator age and stopped batches.
   */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** Every function, by handler name. */
  readonly functions: ReadonlyMap<string, nodejs.NodejsFunction>;
  /** Runs export jobs: plan, chunks in parallel, finish (or abort). */
  readonly exportStateMachine: sfn.StateMachine;
  /** The parts, for wiring more onto them. */
  readonly parts: AuditTrailParts;

  constructor(scope: Construct, id: string, props: AuditTrailProps = {}) {
    super(scope, id);
    checkProps(props);
    const removalPolicy = props.removalPolicy ?? DEFAULTS.removalPolicy;
    const logRetention: logs.RetentionDays = props.logRetention ?? DEFAULTS.logRetention;
    const corsAllowOrigins = [...(props.corsAllowOrigins ?? [])];
    for (const origin of corsAllowOrigins) {
      if (!ORIGIN.test(origin))
        throw new Error(
          `corsAllowOrigins: "${origin}" is not an origin (scheme://host[:port], no path, no wildcard)`,
        );
    }
    const exportParallelism = props.exportParallelism ?? DEFAULTS.exportParallelism;
    if (!Number.isInteger(exportParallelism) || exportParallelism < 1 || exportParallelism > 40)
      throw new Error(`exportParallelism must be an integer from 1 to 40, not ${exportParallelism}`);

    const storage = new Storage(this, 'Storage', { removalPolicy });
    const functions = new Functions(this, 'Functions', {
      storage,
      handlersDir: props.handlersDir,
      defaultRetentionDays: props.defaultRetentionDays,
      unauthenticatedRetentionDays: props.unauthenticatedRetentionDays,
      archiveEnabled: props.archiveEnabled,
      corsAllowOrigins,
      consoleFrameAncestors: props.consoleFrameAncestors,
      workerConcurrency: props.workerConcurrency,
      exportParallelism,
      logRetention,
      removalPolicy,
    });
    const queueConsumer = functions.byName.get('ingest-queue');
    const streamFunction = functions.byName.get('derive-stream');
    const ingest = new Ingest(this, 'Ingest', {
      queueConsumer,
      streamConsumer: streamFunction && { fn: streamFunction, eventsTable: storage.eventsTable },
      streamSettings: props.streamConsumer,
    });
    const retentionPurge = functions.byName.get('purge-scheduler');
    const jobs = new Jobs(this, 'Jobs', {
      exportWorker: functions.named('export-worker'),
      exportChunk: functions.named('export-chunk'),
      exportStarters: [...functions.byName]
        .filter(([name]) => needsOf(name).startsExports)
        .map(([, fn]) => fn),
      retentionPurge,
      exportParallelism,
      logRetention,
      removalPolicy,
    });
    const selfAuditFunction = functions.byName.get('store-self-audit');
    const selfAudit =
      selfAuditFunction &&
      new SelfAudit(this, 'SelfAudit', {
        consumer: selfAuditFunction,
        recorders: new Map(
          [...functions.byName]
            .filter(([name]) => recordsCalls(needsOf(name)))
            .map(([name, fn]) => [name, fn]),
        ),
      });
    const api = new Api(this, 'Http', {
      functionOf: (handler) => functions.named(handler),
      stageName: props.stageName,
      throttling: props.throttling,
      logRetention,
      removalPolicy,
      webAclArn: props.webAclArn,
    });
    const alarms = new Alarms(this, 'Alarms', {
      api: api.restApi,
      deadLetterQueue: ingest.deadLetterQueue,
      functions: functions.byName,
      exportStateMachine: jobs.exportStateMachine,
      streamConsumer:
        streamFunction && ingest.streamDeadLetterQueue
          ? {
              fn: streamFunction,
              logGroup: streamFunction.logGroup,
              deadLetterQueue: ingest.streamDeadLetterQueue,
              iteratorAgeThreshold: props.streamConsumer?.iteratorAgeAlarmThreshold,
            }
          : undefined,
      selfAuditDeadLetterQueue: selfAudit?.deadLetterQueue,
      alarmTopic: props.alarmTopic,
    });
    this.parts = { storage, functions, ingest, jobs, api, alarms, ...(selfAudit ? { selfAudit } : {}) };

    this.dataKey = storage.dataKey;
    this.eventsTable = storage.eventsTable;
    this.controlTable = storage.controlTable;
    this.exportsBucket = storage.exportsBucket;
    this.archiveBucket = storage.archiveBucket;
    this.cursorKey = storage.cursorKey;
    this.functions = functions.byName;
    this.eventBus = ingest.eventBus;
    this.ingestQueue = ingest.ingestQueue;
    this.deadLetterQueue = ingest.deadLetterQueue;
    this.streamDeadLetterQueue = ingest.streamDeadLetterQueue;
    this.selfAuditDeadLetterQueue = selfAudit?.deadLetterQueue;
    this.exportStateMachine = jobs.exportStateMachine;
    this.api = api.restApi;
    this.alarms = alarms.all;
  }

  /** Makes every alarm notify `topic` when it fires and when it recovers. */
  addAlarmTopic(topic: sns.ITopic): void {
    this.parts.alarms.notify(topic);
  }
}
