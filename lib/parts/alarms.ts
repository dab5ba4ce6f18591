import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { DEFAULTS } from './defaults.js';
import { pascal } from './functions.js';
import { Part } from './part.js';

/** Properties of {@link Alarms}. */
export interface AlarmsProps {
  /** Alarms on its 5xx answers. */
  readonly api: apigateway.RestApi;
  /** Alarms when a message waits in it. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Alarms on each function's errors and throttles, by handler name. */
  readonly functions: ReadonlyMap<string, lambda.IFunction>;
  /** Alarms when an export job fails for good. */
  readonly exportStateMachine: sfn.IStateMachine;
  /**
   * The events stream's consumer: alarms when it falls behind (iterator age), when it gives up on
   * a batch (its on-failure queue), and when it stops at a record it cannot apply.
   * @default - no stream alarms (a handler set without `derive-stream.ts`)
   */
  readonly streamConsumer?: {
    readonly fn: lambda.IFunction;
    readonly logGroup: logs.ILogGroup;
    readonly deadLetterQueue: sqs.IQueue;
    /** @default Duration.seconds(60) */
    readonly iteratorAgeThreshold?: Duration;
  };
  /**
   * The store-self-audit function's on-failure queue: alarms when a delivery of self-audit records
   * was given up on (the function's own errors have their alarm like every function's).
   * @default - no self-audit alarm (a handler set without `store-self-audit.ts`)
   */
  readonly selfAuditDeadLetterQueue?: sqs.IQueue;
  /**
   * Topic that every alarm notifies (alarm and back to OK).
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * One alarm per thing an operator must look at; each fires on the first occurrence in 5 minutes
 * (the stream consumer's iterator age: on a maximum above its threshold).
 */
export class Alarms extends Part {
  /**
   * API 5xx, DLQ depth, each function's errors and throttles, failed export jobs, and the stream
   * consumer's iterator age, on-failure queue depth and stopped batches.
   */
  readonly all: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const alarm = (
      alarmId: string,
      alarmDescription: string,
      metric: cloudwatch.IMetric,
      threshold = 1,
      comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription,
        metric,
        threshold,
        comparisonOperator,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const alarms = [
      alarm(
        'Api5xxAlarm',
        'The API answered 5xx (a bug or an AWS fault: bad input must get a 4xx)',
        props.api.metricServerError({ period, statistic: 'Sum' }),
      ),
      alarm(
        'DeadLetterAlarm',
        'Events from the bus could not be ingested after 3 tries and wait in the DLQ',
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period }),
      ),
    ];
    for (const [name, fn] of props.functions) {
      alarms.push(
        alarm(
          `${pascal(name)}ErrorsAlarm`,
          `The ${name} function failed (uncaught error or timeout)`,
          fn.metricErrors({ period, statistic: 'Sum' }),
        ),
        alarm(
          `${pascal(name)}ThrottlesAlarm`,
          `The ${name} function was throttled (concurrency exhausted)`,
          fn.metricThrottles({ period, statistic: 'Sum' }),
        ),
      );
    }
    const stream = props.streamConsumer;
    if (stream) {
      const threshold = stream.iteratorAgeThreshold ?? DEFAULTS.streamConsumer.iteratorAgeAlarmThreshold;
      // The handler returns its failures (partial batch response) instead of throwing, so Lambda's
      // Errors metric misses them: count its log line instead.
      const stopped = new logs.MetricFilter(this, 'DeriveStreamStoppedFilter', {
        logGroup: stream.logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.message', '=', DERIVATION_STOPPED),
        metricNamespace: 'AuditTrail',
        metricName: 'DerivationStopped',
        metricValue: '1',
      });
      alarms.push(
        alarm(
          'StreamIteratorAgeAlarm',
          `The events stream consumer is behind: a delivery's oldest record was over ${threshold.toSeconds()} s old, so counters lag the events that much`,
          stream.fn.metric('IteratorAge', { period, statistic: 'Maximum' }),
          threshold.toMilliseconds(),
          cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        ),
        alarm(
          'StreamDeadLetterAlarm',
          "A batch of the events stream was given up on (retries or record age exhausted): its counters are missing until it is replayed from the stream's DLQ",
          stream.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period }),
        ),
        alarm(
          'DeriveStreamStoppedAlarm',
          'The events stream consumer stopped at a record it could not apply (the batch is retried from there)',
          stopped.metric({ period, statistic: 'Sum' }),
        ),
      );
    }
    if (props.selfAuditDeadLetterQueue) {
      alarms.push(
        alarm(
          'SelfAuditDeadLetterAlarm',
          "A delivery of self-audit records could not be stored after Lambda's retries: those calls' records are missing until it is replayed from the queue",
          props.selfAuditDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period }),
        ),
      );
    }
    alarms.push(
      alarm(
        'ExportFailedAlarm',
        'An export job failed for good (a step kept failing); its download answers failed',
        props.exportStateMachine.metricFailed({ period, statistic: 'Sum' }),
      ),
    );
    this.all = alarms;
    if (props.alarmTopic) this.notify(props.alarmTopic);
  }

  /** Makes every alarm notify `topic` when it fires and when it recovers. */
  notify(topic: sns.ITopic): void {
    const action = new cloudwatchActions.SnsAction(topic);
    for (const alarm of this.all) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}

/** The message lambdas/handlers/derive-stream.ts logs when a batch stops at a record. */
export const DERIVATION_STOPPED = 'derivation stopped; the batch resumes at the failed record';
