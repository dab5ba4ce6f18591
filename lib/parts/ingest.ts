import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULTS } from './defaults.js';
import { keepEmbeddedIds, keptUniqueName, Part } from './part.js';

/** How Lambda feeds the events table's stream to its consumer (the `derive-stream` handler). */
export interface StreamConsumerSettings {
  /**
   * Most records handed to one invocation (1-10000). Counter writes grow with batches, not events,
   * so larger batches mean fewer writes to the hottest counter items.
   * @default 500
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking with fewer than `batchSize` (0-300 s): the
   * floor of the counters' lag behind the events at low traffic.
   * @default Duration.seconds(1)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failing batch (0-10000) before its position is sent to the stream's on-failure
   * queue and the shard moves on. Bisection splits do not count against them.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not retried but sent to the on-failure queue (60 s-7 days). Stream
   * records stay readable for 24 hours, so 6 hours leaves at least 18 hours to replay a failed
   * batch from its queue message.
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /**
   * The iterator-age alarm fires when the oldest record of a delivery was this old (maximum over
   * 5 minutes): how far the counters may fall behind before someone is told.
   * @default Duration.seconds(60)
   */
  readonly iteratorAgeAlarmThreshold?: Duration;
}

/** Properties of {@link Ingest}. */
export interface IngestProps {
  /**
   * The function that stores the events arriving on the ingest queue (the `ingest-queue` handler).
   * @default - the queue has no consumer (a handler set without `ingest-queue.ts`)
   */
  readonly queueConsumer?: lambda.IFunction;
  /**
   * The function that derives the counters from the events table's stream (the `derive-stream`
   * handler), with the table whose stream it reads.
   * @default - no stream consumer (a handler set without `derive-stream.ts`)
   */
  readonly streamConsumer?: { readonly fn: lambda.IFunction; readonly eventsTable: dynamodb.ITable };
  /**
   * How the stream consumer is fed.
   * @default - the {@link StreamConsumerSettings} defaults
   */
  readonly streamSettings?: StreamConsumerSettings;
}

/**
 * The asynchronous paths into and out of the events table: the EventBridge bus, the rule that
 * sends every event of this account to the ingest queue (with its dead-letter queue) and its
 * consumer; and the events table's stream feeding the derive-stream consumer (with its on-failure
 * queue), which builds the counters behind the plain writes.
 */
export class Ingest extends Part {
  /** Producers inside AWS may PutEvents here instead of calling the API. */
  readonly eventBus: events.EventBus;
  /** Events from the bus, waiting for the consumer. */
  readonly ingestQueue: sqs.Queue;
  /** Events the consumer failed to store three times. */
  readonly deadLetterQueue: sqs.Queue;
  /**
   * Where Lambda records a stream batch the consumer could not apply within its retries or record
   * age (shard, sequence numbers; the records themselves stay in the stream for 24 hours).
   */
  readonly streamDeadLetterQueue?: sqs.Queue;
  /** Feeds the events table's stream to the derive-stream consumer. */
  readonly streamMapping?: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: IngestProps = {}) {
    super(scope, id);
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
    // The generated name derives from the construct path: keep the one producers already use.
    this.eventBus = new events.EventBus(this, 'EventBus', { eventBusName: keptUniqueName(this, 'EventBus') });
    new events.Rule(this, 'IngestRule', {
      eventBus: this.eventBus,
      description: 'Every event put on the audit bus by a producer of this account is ingested',
      eventPattern: { account: [Stack.of(this).account] },
      targets: [new eventsTargets.SqsQueue(this.ingestQueue)],
    });
    keepEmbeddedIds(this.ingestQueue);
    props.queueConsumer?.addEventSource(
      new SqsEventSource(this.ingestQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    if (props.streamConsumer) {
      const { fn, eventsTable } = props.streamConsumer;
      const settings = { ...DEFAULTS.streamConsumer, ...props.streamSettings };
      const streamArn = eventsTable.tableStreamArn;
      if (!streamArn) throw new Error('The events table has no stream for derive-stream to consume');
      this.streamDeadLetterQueue = new sqs.Queue(this, 'StreamDeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(this.streamDeadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          "This queue is the dead-letter destination of the events stream's mapping (Lambda's on-failure destination, not an SQS redrive policy, so the check does not see it); nothing consumes it but an operator replaying a batch.",
      });
      this.streamMapping = new lambda.EventSourceMapping(this, 'DeriveStreamMapping', {
        target: fn,
        eventSourceArn: streamArn,
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: settings.batchSize,
        maxBatchingWindow: settings.maxBatchingWindow,
        // The handler names the first record it did not apply; Lambda resumes there.
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: settings.retryAttempts,
        maxRecordAge: settings.maxRecordAge,
        // One invocation per shard at a time: the derivation relies on each shard's order.
        parallelizationFactor: 1,
        onFailure: new SqsDlq(this.streamDeadLetterQueue),
      });
    }
  }
}
