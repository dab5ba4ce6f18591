import { Aws, Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sfnTasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { CHUNK_RETRY } from '../../lambdas/domain/export-plan.js';
import { DEFAULTS } from './defaults.js';
import { logicalIdOf, Part } from './part.js';

/** Properties of {@link Jobs}. */
export interface JobsProps {
  /** Runs the plan, whole, finish and abort steps of an export (the `export-worker` handler). */
  readonly exportWorker: lambda.IFunction;
  /** Compresses one chunk of a parallel export (the `export-chunk` handler). */
  readonly exportChunk: lambda.IFunction;
  /**
   * Functions that start export jobs: they learn the state machine's ARN
   * (`EXPORT_STATE_MACHINE_ARN`) and may start executions.
   * @default - none
   */
  readonly exportStarters?: readonly lambda.Function[];
  /**
   * The function the daily retention schedule runs (the `purge-scheduler` handler).
   * @default - no retention schedule
   */
  readonly retentionPurge?: lambda.IFunction;
  /**
   * Chunks of one parallel export job compressed at once (the Map's MaxConcurrency, at most 40).
   * @default 10
   */
  readonly exportParallelism?: number;
  /**
   * Retention of the state machine's log.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the state machine's log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The background jobs: the export state machine and the daily retention schedule. */
export class Jobs extends Part {
  /** Runs export jobs: plan, chunks in parallel, finish (or abort). */
  readonly exportStateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: JobsProps) {
    super(scope, id);
    if (props.retentionPurge) this.scheduleRetention(props.retentionPurge);
    this.exportStateMachine = this.createExportStateMachine(
      props.exportWorker,
      props.exportChunk,
      props.exportParallelism ?? DEFAULTS.exportParallelism,
      props.logRetention ?? DEFAULTS.logRetention,
      props.removalPolicy ?? DEFAULTS.removalPolicy,
    );
    for (const fn of props.exportStarters ?? []) {
      fn.addEnvironment('EXPORT_STATE_MACHINE_ARN', this.exportStateMachine.stateMachineArn);
      this.exportStateMachine.grantStartExecution(fn);
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
}
