import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { keepEmbeddedIds, keptUniqueName, Part } from './part.js';

/** Properties of {@link Ingest}. */
export interface IngestProps {
  /**
   * The function that stores the events arriving on the ingest queue (the `ingest-queue` handler).
   * @default - the queue has no consumer (a handler set without `ingest-queue.ts`)
   */
  readonly queueConsumer?: lambda.IFunction;
}

/**
 * The asynchronous write paths into the events table: the EventBridge bus, the rule that sends
 * every event of this account to the ingest queue (with its dead-letter queue), and the consumer.
 */
export class Ingest extends Part {
  /** Producers inside AWS may PutEvents here instead of calling the API. */
  readonly eventBus: events.EventBus;
  /** Events from the bus, waiting for the consumer. */
  readonly ingestQueue: sqs.Queue;
  /** Events the consumer failed to store three times. */
  readonly deadLetterQueue: sqs.Queue;

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
  }
}
