import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CONTROL_KEYS, EVENTS_KEYS, EVENTS_STREAM } from '../../lambdas/adapters/table-definitions.js';
import { DEFAULTS } from './defaults.js';
import { Part } from './part.js';

/** Properties of {@link Storage}. */
export interface StorageProps {
  /**
   * What happens to the tables, buckets, key and secret when the stack is deleted. Tables also keep
   * deletion protection unless this is `DESTROY`.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Everything that holds data: the customer-managed key, the events and control tables, the
 * exports, archive and access-log buckets, and the cursor-signing secret.
 */
export class Storage extends Part {
  /** Encrypts the tables and the exports and archive buckets. */
  readonly dataKey: kms.Key;
  /**
   * Audit entries, partitioned by tenant (lambdas/adapters/table-definitions.ts `EVENTS_KEYS`), with
   * a stream of new and old images (`EVENTS_STREAM`, as the local stack has it) that the
   * derive-stream consumer builds the counters from.
   */
  readonly eventsTable: dynamodb.Table;
  /** Tokens, tenant settings, jobs, idempotency and counters (`CONTROL_KEYS`). */
  readonly controlTable: dynamodb.Table;
  /** Receives the server access logs of the exports and archive buckets. */
  readonly accessLogsBucket: s3.Bucket;
  /** Finished exports, served through presigned GETs for a day. */
  readonly exportsBucket: s3.Bucket;
  /** Entries purged with archiving on; versioned, object lock enabled. */
  readonly archiveBucket: s3.Bucket;
  /** HMAC key that signs pagination cursors. */
  readonly cursorKey: secretsmanager.Secret;
  /**
   * Signs the tenants' verifiable-log checkpoints (C2SP signed notes, Ed25519): an asymmetric
   * ECC_NIST_EDWARDS25519 key whose private half never leaves KMS.
   */
  readonly checkpointKey: kms.Key;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? DEFAULTS.removalPolicy;

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Encrypts the Audit Trail tables and buckets',
      enableKeyRotation: true,
      removalPolicy,
    });

    this.eventsTable = new dynamodb.Table(this, 'EventsTable', {
      partitionKey: { name: EVENTS_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: EVENTS_KEYS.sort, type: dynamodb.AttributeType.NUMBER },
      // Enabling a stream on the deployed table is an in-place update (no replacement, no interruption).
      stream: dynamodb.StreamViewType[EVENTS_STREAM.StreamViewType],
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

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      // Server access log delivery only supports SSE-S3 on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket receives the server access logs of the exports and archive buckets; logging it too would loop.',
    });

    this.exportsBucket = new s3.Bucket(this, 'ExportsBucket', {
      ...bucketDefaults(this.dataKey, this.accessLogsBucket, 'exports/', removalPolicy),
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
      ...bucketDefaults(this.dataKey, this.accessLogsBucket, 'archive/', removalPolicy),
      versioned: true,
      // Lets an operator place compliance retention on archives; nothing here deletes them.
      objectLockEnabled: true,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });

    // Asymmetric keys are not rotated by KMS: a new key is a new log key id, published beside the old.
    this.checkpointKey = new kms.Key(this, 'CheckpointKey', {
      description: 'Signs the Audit Trail verifiable-log checkpoints (Ed25519)',
      keySpec: kms.KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy,
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
  }
}

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
