import { join } from 'node:path';
import { ArnFormat, Aws, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { EVENTS_KEYS } from '../../lambdas/adapters/table-definitions.js';
import { parseOrigins } from '../../lambdas/http/console-page.js';
import { AUTHORIZER_HANDLER, FALLBACK_HANDLER, ROUTES } from '../../lambdas/routes.js';
import { BUNDLING, HANDLERS_DIR, handlerNames, NODE_OPTIONS, ROOT } from '../bundling.js';
import { writeConsoleAssetsSync } from '../console-bundle.js';
import {
  type BucketAccess,
  type FunctionNeeds,
  type FunctionRole,
  needsOf,
  type TableAccess,
} from '../function-needs.js';
import { DEFAULTS } from './defaults.js';
import { keepEmbeddedIds, logicalIdOf, Part } from './part.js';
import type { Storage } from './storage.js';

/** Properties of {@link Functions}. */
export interface FunctionsProps {
  /** The tables, buckets, key and secret the functions are granted (as FUNCTION_NEEDS lists). */
  readonly storage: Storage;
  /**
   * Directory of the Lambda entry points (one function per `.ts` file).
   * @default lambdas/handlers of this repository
   */
  readonly handlersDir?: string;
  /**
   * Retention of a tenant's entries when it has not chosen its own, in days.
   * @default 365
   */
  readonly defaultRetentionDays?: number;
  /**
   * Retention of the records of calls made without a usable credential, in days.
   * @default 30
   */
  readonly unauthenticatedRetentionDays?: number;
  /**
   * Whether purges archive the deleted entries to S3 for tenants that have not chosen.
   * @default true
   */
  readonly archiveEnabled?: boolean;
  /**
   * Origins whose browser pages may call the API (already checked to be origins).
   * @default - none: CORS off
   */
  readonly corsAllowOrigins?: readonly string[];
  /**
   * Origins allowed to frame the console's embed mode.
   * @default - none: the console cannot be framed
   */
  readonly consoleFrameAncestors?: readonly string[];
  /**
   * Reserved concurrency of the purge and export workers, or `false` for none.
   * @default { purge: 2, export: 4 }
   */
  readonly workerConcurrency?: { readonly purge: number; readonly export: number } | false;
  /**
   * Reserved concurrency of the export-chunk function (unless `workerConcurrency` is `false`).
   * @default 10
   */
  readonly exportParallelism?: number;
  /**
   * Retention of the function logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

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
/**
 * What Lambda's poller needs, with the consumer's role, to read the events stream (the actions of
 * AWSLambdaDynamoDBExecutionRole), on that one stream instead of `*`.
 */
export const STREAM_READ = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
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
  // A batch of up to 500 stream records; a timeout only redelivers it (the derivation journal skips what was applied).
  stream: Duration.minutes(2),
  // A delivery of self-audit lines; a timeout only redelivers it (each record is stored once).
  logs: Duration.minutes(1),
  schedule: Duration.minutes(15),
};
const MEMORY: Record<FunctionRole, number> = {
  // More memory means more CPU: init and JSON/zip work finish sooner, usually for the same cost.
  api: 1024,
  authorizer: 512,
  fallback: 256,
  worker: 1536,
  queue: 1024,
  stream: 1024,
  logs: 512,
  schedule: 1024,
};

/**
 * One Lambda function per handler file, each with its own log group and a role granted exactly
 * what lib/function-needs.ts lists for it, scoped to this service's tables, buckets, key and secret.
 */
export class Functions extends Part {
  /** Every function, by handler name. */
  readonly byName: ReadonlyMap<string, nodejs.NodejsFunction>;
  private readonly storage: Storage;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { storage } = props;
    this.storage = storage;
    const logRetention = props.logRetention ?? DEFAULTS.logRetention;
    const removalPolicy = props.removalPolicy ?? DEFAULTS.removalPolicy;
    const workerConcurrency = props.workerConcurrency ?? DEFAULTS.workerConcurrency;
    const exportParallelism = props.exportParallelism ?? DEFAULTS.exportParallelism;
    const corsAllowOrigins = props.corsAllowOrigins ?? [];
    const handlersDir = props.handlersDir ?? HANDLERS_DIR;
    const names = handlerNames(handlersDir);
    for (const name of [...ROUTES.map((route) => route.handler), AUTHORIZER_HANDLER, FALLBACK_HANDLER]) {
      if (!names.includes(name))
        throw new Error(`lambdas/routes.ts names handler "${name}" but ${name}.ts does not exist`);
    }
    const functions = new Map<string, nodejs.NodejsFunction>();
    const baseEnvironment: Record<string, string> = {
      EVENTS_TABLE: storage.eventsTable.tableName,
      CONTROL_TABLE: storage.controlTable.tableName,
      EXPORTS_BUCKET: storage.exportsBucket.bucketName,
      ARCHIVE_BUCKET: storage.archiveBucket.bucketName,
      JOB_LAUNCHER: 'lambda',
      DEFAULT_RETENTION_DAYS: String(props.defaultRetentionDays ?? DEFAULTS.defaultRetentionDays),
      UNAUTHENTICATED_RETENTION_DAYS: String(
        props.unauthenticatedRetentionDays ?? DEFAULTS.unauthenticatedRetentionDays,
      ),
      ARCHIVE_ENABLED: String(props.archiveEnabled ?? DEFAULTS.archiveEnabled),
      ...(corsAllowOrigins.length > 0 ? { CORS_ALLOW_ORIGINS: corsAllowOrigins.join(',') } : {}),
      // The verifiable log's name: a tenant's log is `<stack>.audit-trail/<tenant>`.
      TLOG_ORIGIN: `${Stack.of(this).stackName}.audit-trail`,
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
        environment.CONSOLE_DOWNLOAD_ORIGINS = `https://${storage.exportsBucket.bucketRegionalDomainName}`;
      }
      // Only the functions that sign cursors learn where the key is (and may read it: see below).
      if (needs.cursorKey) environment.CURSOR_KEY_SECRET_ARN = storage.cursorKey.secretArn;
      if (needs.tlogKey) environment.TLOG_KMS_KEY_ID = storage.checkpointKey.keyArn;
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
      keepEmbeddedIds(fn);
      functions.set(name, fn);
    }
    this.byName = functions;
  }

  /** The function of handler `name`; throws when the handler set has none. */
  named(name: string): nodejs.NodejsFunction {
    const fn = this.byName.get(name);
    if (!fn) throw new Error(`No function for handler ${name}`);
    return fn;
  }

  /** The exact data-plane permissions of `needs`, scoped to this service's resources. */
  private grant(role: iam.Role, needs: FunctionNeeds): void {
    const { storage } = this;
    const viaServices = {
      StringEquals: {
        'kms:ViaService': [`dynamodb.${Aws.REGION}.amazonaws.com`, `s3.${Aws.REGION}.amazonaws.com`],
      },
    };
    let keyActions: string[] = [];
    const table = (
      tableConstruct: typeof storage.eventsTable,
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
    table(storage.eventsTable, needs.events, [
      EVENTS_KEYS.actionIndex,
      EVENTS_KEYS.actorIndex,
      EVENTS_KEYS.apiCallIndex,
    ]);
    table(storage.controlTable, needs.control, []);
    if (needs.role === 'stream') {
      const streamArn = storage.eventsTable.tableStreamArn;
      if (!streamArn) throw new Error('The events table has no stream for the stream consumer to read');
      role.addToPolicy(new iam.PolicyStatement({ actions: STREAM_READ, resources: [streamArn] }));
      // Stream records of a table under a customer-managed key are decrypted with the reader's role.
      keyActions = [...keyActions, ...KEY_DECRYPT];
    }
    const bucket = (bucketConstruct: typeof storage.exportsBucket, access: BucketAccess | undefined) => {
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
    bucket(storage.exportsBucket, needs.exports);
    bucket(storage.archiveBucket, needs.archive);
    if (keyActions.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [...new Set(keyActions)].sort(),
          resources: [storage.dataKey.keyArn],
          conditions: viaServices,
        }),
      );
    }
    if (needs.tlogKey) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: needs.tlogKey === 'sign' ? ['kms:GetPublicKey', 'kms:Sign'] : ['kms:GetPublicKey'],
          resources: [storage.checkpointKey.keyArn],
        }),
      );
    }
    if (needs.cursorKey) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [storage.cursorKey.secretArn],
        }),
      );
    }
  }
}

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
export const pascal = (name: string): string =>
  name
    .split(/[^a-zA-Z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** "purge-worker" → "PURGE_WORKER_FUNCTION", the variable lambdas/config.ts reads. */
const workerVariable = (name: string): string =>
  `${name.replace(/-worker$/, '').toUpperCase()}_WORKER_FUNCTION`;
