import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
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
   * Topic that every alarm notifies (alarm and back to OK).
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/** One alarm per thing an operator must look at; each fires on the first occurrence in 5 minutes. */
export class Alarms extends Part {
  /** API 5xx, DLQ depth, each function's errors and throttles, failed export jobs. */
  readonly all: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const alarm = (alarmId: string, alarmDescription: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription,
        metric,
        threshold: 1,
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
