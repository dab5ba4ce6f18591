import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';

/** The defaults of the settings more than one part reads (documented on AuditTrailProps). */
export const DEFAULTS = {
  stageName: 'v1',
  defaultRetentionDays: 365,
  unauthenticatedRetentionDays: 30,
  archiveEnabled: true,
  throttling: { rateLimit: 100, burstLimit: 200 },
  removalPolicy: RemovalPolicy.RETAIN,
  workerConcurrency: { purge: 2, export: 4 },
  exportParallelism: 10,
  logRetention: logs.RetentionDays.THREE_MONTHS,
  streamConsumer: {
    batchSize: 500,
    maxBatchingWindow: Duration.seconds(1),
    retryAttempts: 10,
    maxRecordAge: Duration.hours(6),
    iteratorAgeAlarmThreshold: Duration.seconds(60),
  },
} as const;
