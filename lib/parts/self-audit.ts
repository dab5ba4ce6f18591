import { Duration, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SELF_AUDIT_FILTER_PATTERN } from '../../lambdas/domain/self-audit-line.js';
import { Part } from './part.js';

/** Properties of {@link SelfAudit}. */
export interface SelfAuditProps {
  /** The function that stores the self-audit records (the `store-self-audit` handler). */
  readonly consumer: lambda.IFunction;
  /** The functions that record their calls, with their log groups, by handler name. */
  readonly recorders: ReadonlyMap<string, { readonly logGroup: logs.ILogGroup }>;
}

/**
 * How each call's self-audit record reaches the events table: the HTTP function writes it as one
 * JSON line to its log before answering; a subscription filter on each such function's log group
 * sends the lines with the self-audit marker to the store-self-audit function (asynchronous
 * invocations, retried twice, then recorded in an on-failure queue), which stores each record once.
 */
export class SelfAudit extends Part {
  /** Deliveries the consumer failed to store after Lambda's retries (replay them from here). */
  readonly deadLetterQueue: sqs.Queue;
  /** One per recording function's log group, by handler name. */
  readonly subscriptions: ReadonlyMap<string, logs.SubscriptionFilter>;

  constructor(scope: Construct, id: string, props: SelfAuditProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'SelfAuditDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the on-failure destination of the store-self-audit function's asynchronous invocations (not an SQS redrive policy, so the check does not see it); nothing consumes it but an operator replaying a delivery.",
    });
    props.consumer.configureAsyncInvoke({
      retryAttempts: 2,
      // CloudWatch Logs does not deliver a subscription's lines again: a delivery is kept until
      // Lambda has tried it for this long, then recorded in the queue (14 days to replay it).
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    const destination = new LambdaDestination(props.consumer);
    const subscriptions = new Map<string, logs.SubscriptionFilter>();
    for (const [name, { logGroup }] of props.recorders) {
      subscriptions.set(
        name,
        new logs.SubscriptionFilter(this, `${pascalOf(name)}SelfAuditSubscription`, {
          logGroup,
          destination,
          filterPattern: logs.FilterPattern.literal(SELF_AUDIT_FILTER_PATTERN),
          filterName: 'self-audit',
        }),
      );
    }
    this.subscriptions = subscriptions;
  }
}

const pascalOf = (name: string): string =>
  name
    .split(/[^a-zA-Z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
