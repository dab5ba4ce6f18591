import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AuditTrail, type AuditTrailProps } from './audit-trail.js';

/** Properties of {@link AuditTrailStack}. */
export interface AuditTrailStackProps extends StackProps {
  /**
   * Settings of the service.
   * @default - the {@link AuditTrail} defaults
   */
  readonly auditTrail?: AuditTrailProps;
}

/** A stack holding one {@link AuditTrail}, with outputs to reach and bootstrap it. */
export class AuditTrailStack extends Stack {
  readonly auditTrail: AuditTrail;

  constructor(scope: Construct, id: string, props: AuditTrailStackProps = {}) {
    super(scope, id, props);
    const service = new AuditTrail(this, 'AuditTrail', props.auditTrail);
    this.auditTrail = service;
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the API (append /api/v1/audit_trail/fetch, /api/public/auditlogs, …)',
      value: service.api.url,
    });
    new CfnOutput(this, 'EventsTableName', { value: service.eventsTable.tableName });
    new CfnOutput(this, 'ControlTableName', { value: service.controlTable.tableName });
    new CfnOutput(this, 'EventBusName', {
      description: 'Producers inside AWS may PutEvents here instead of calling the API',
      value: service.eventBus.eventBusName,
    });
    new CfnOutput(this, 'CreateFirstToken', {
      description: 'Run from a checkout with AWS credentials for this account to create the first API token',
      value: [
        `AWS_REGION=${this.region}`,
        `EVENTS_TABLE=${service.eventsTable.tableName}`,
        `CONTROL_TABLE=${service.controlTable.tableName}`,
        'npm run tokens -- create --tenant my-tenant --scopes read,purge,download,ingest,admin',
      ].join(' '),
    });
  }
}
