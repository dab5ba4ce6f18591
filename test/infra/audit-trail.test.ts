import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Duration, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EVENTS_STREAM } from '../../lambdas/adapters/table-definitions.js';
import { SELF_AUDIT_FILTER_PATTERN, SELF_AUDIT_MARKER } from '../../lambdas/domain/self-audit-line.js';
import { AUTHORIZER_HANDLER, FALLBACK_HANDLER, ROUTES } from '../../lambdas/routes.js';
import { AuditTrailStack } from '../../lib/audit-trail-stack.js';
import { handlerNames } from '../../lib/bundling.js';
import { FUNCTION_NEEDS, needsOf, recordsCalls } from '../../lib/function-needs.js';
import { DERIVATION_STOPPED } from '../../lib/parts/alarms.js';
import { STREAM_READ } from '../../lib/parts/functions.js';

/**
 * Template tests. Bundling is skipped through the CDK's own `aws:cdk:bundling-stacks` context (what
 * `cdk synth --exclusively` uses), so these tests check the wiring, not esbuild; `npm run synth`
 * and `bench/bundles.ts` bundle for real with the same options. Each app is synthesized once per file.
 *
 * Two apps: one from the real `lambdas/handlers/`, and one whose handler folder holds every handler
 * reviewed in FUNCTION_NEEDS (empty entry files in a scratch folder, never bundled), so the grants,
 * schedule, queue and workers of the complete service are checked even before every handler exists.
 */

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

interface Synthesized {
  stack: AuditTrailStack;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties: Json }> };
  nagError: unknown;
}

const synthesize = (handlersDir?: string): Synthesized => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new AuditTrailStack(app, 'AuditTrail', {
    auditTrail: handlersDir ? { handlersDir } : {},
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let nagError: unknown;
  let json: Synthesized['json'];
  try {
    json = app.synth().getStackByName(stack.stackName).template;
  } catch (error) {
    nagError = error;
    // Without the checks, to still inspect the template.
    const plain = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const again = new AuditTrailStack(plain, 'AuditTrail', {
      auditTrail: handlersDir ? { handlersDir } : {},
    });
    json = plain.synth().getStackByName(again.stackName).template;
  }
  return { stack, template: Template.fromJSON(json), json, nagError };
};

/** The properties of resource `id`; throws when the template lacks it. */
const propertiesOf = (s: Synthesized, id: string | undefined): Json => {
  const resource = id === undefined ? undefined : s.json.Resources[id];
  if (!resource) throw new Error(`no resource ${id}`);
  return resource.Properties;
};

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Logical id of the function deployed for each handler (functions carry "Audit Trail <name>"). */
const functionIds = (s: Synthesized): Map<string, string> => {
  const ids = new Map<string, string>();
  for (const [id, resource] of Object.entries(s.json.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const name = /^Audit Trail (.+)$/.exec(String(resource.Properties.Description))?.[1];
    if (name) ids.set(name, id);
  }
  return ids;
};

/** Every IAM statement attached to the role of `handler`'s function. */
const statementsOf = (s: Synthesized, handler: string): Statement[] => {
  const fnId = functionIds(s).get(handler);
  if (!fnId) throw new Error(`no function for ${handler}`);
  const role = (propertiesOf(s, fnId).Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return Object.values(s.json.Resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as Json[]).some((ref) => JSON.stringify(ref) === JSON.stringify({ Ref: role })),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
};

const logicalIdOfType = (s: Synthesized, type: string, hint: string): string => {
  const id = Object.keys(s.json.Resources).find(
    (key) => s.json.Resources[key]?.Type === type && key.includes(hint),
  );
  if (!id) throw new Error(`no ${type} like ${hint}`);
  return id;
};

/** Whether `statement` is on the events table's stream (`Fn::GetAtt [table, StreamArn]`). */
const onStream = (statement: Statement): boolean =>
  JSON.stringify(statement.Resource).includes('"StreamArn"');

/** Actions granted on resources mentioning `logicalId` (a table, bucket, key or function), streams apart. */
const actionsOn = (statements: Statement[], logicalId: string): string[] =>
  statements
    .filter(
      (statement) => JSON.stringify(statement.Resource).includes(`"${logicalId}"`) && !onStream(statement),
    )
    .flatMap((statement) => asArray(statement.Action))
    .sort();

// Entry files must sit under the project root; .local/ is git-ignored scratch space.
const scratch = fileURLToPath(new URL('../../.local/', import.meta.url));
mkdirSync(scratch, { recursive: true });

let real: Synthesized;
let full: Synthesized;
let fullDir: string;

beforeAll(() => {
  fullDir = mkdtempSync(join(scratch, 'audit-trail-handlers-'));
  for (const name of Object.keys(FUNCTION_NEEDS)) writeFileSync(join(fullDir, `${name}.ts`), '');
  real = synthesize();
  full = synthesize(fullDir);
});

afterAll(() => {
  rmSync(fullDir, { recursive: true, force: true });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports nothing unacknowledged for the handlers in lambdas/handlers', () => {
    // Assess
    expect(real.nagError).toBeUndefined();
  });

  it('reports nothing unacknowledged for the complete set of reviewed handlers', () => {
    // Assess
    expect(full.nagError).toBeUndefined();
  });

  it('fails synthesis on a finding nobody acknowledged (the checks really run)', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new AuditTrailStack(app, 'AuditTrail');
    new s3.Bucket(stack, 'Unreviewed');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Act
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = String(error);
    }
    // Assess
    expect(message).toMatch(/AwsSolutions-S10/);
    expect(message).toMatch(/AuditTrail\/Unreviewed\/Resource/);
    // Only the unreviewed bucket is reported, nothing of the service itself.
    expect(message).not.toMatch(/AuditTrail\/AuditTrail\//);
  });
});

/**
 * The logical ids CloudFormation knows the replacement-sensitive resources by, recorded from the
 * template before lib/audit-trail.ts was split into parts (lib/parts/). A resource whose logical id
 * changes is created anew and the old one deleted (or orphaned when retained): an empty table, a
 * new bucket, lost queue messages, a new API URL, a worker whose fixed name collides with the old
 * one. So every entry must keep its id and type, and every resource of these types must be listed.
 *
 * To change the list deliberately (a new table, queue, log group…, or a migration that really
 * means to replace one): edit the JSON by hand, `"<LogicalId>": "<AWS::Type>"`, and say in the
 * commit why CloudFormation may create or replace it. Never regenerate it from a new template.
 */
const PINNED: Record<string, string> = JSON.parse(
  readFileSync(fileURLToPath(new URL('fixtures/stateful-logical-ids.json', import.meta.url)), 'utf8'),
);
const PINNED_TYPES = new Set(Object.values(PINNED).filter((type) => type !== 'AWS::Lambda::Function'));
/** Functions with a fixed FunctionName (the workers) cannot be replaced under a new id either. */
const isPinnable = (resource: { Type: string; Properties: Json }): boolean =>
  PINNED_TYPES.has(resource.Type) ||
  (resource.Type === 'AWS::Lambda::Function' && resource.Properties.FunctionName !== undefined);

describe('logical ids', () => {
  it('keeps the logical id and type of every stateful or fixed-name resource', () => {
    // Act
    const kept = Object.fromEntries(
      Object.keys(PINNED).map((id) => [id, real.json.Resources[id]?.Type ?? 'missing']),
    );
    // Assess
    expect(kept).toEqual(PINNED);
  });

  it('lists every stateful or fixed-name resource of the template (a new one is pinned on purpose)', () => {
    // Act
    const unlisted = Object.entries(full.json.Resources)
      .filter(([id, resource]) => isPinnable(resource) && !(id in PINNED))
      .map(([id, resource]) => `${id}: ${resource.Type}`);
    // Assess
    expect(unlisted).toEqual([]);
  });

  it('keeps the event bus name producers put events on', () => {
    // Act
    const bus = Object.values(real.json.Resources).find((r) => r.Type === 'AWS::Events::EventBus');
    // Assess
    expect(bus?.Properties.Name).toBe('AuditTrailEventBusCE17BFB1');
  });
});

describe('functions', () => {
  it('deploys exactly one function per handler file in lambdas/handlers', () => {
    // Prepare
    const files = handlerNames();
    // Act
    const deployed = [...functionIds(real).keys()].sort();
    // Assess
    expect(deployed).toEqual(files);
    real.template.resourceCountIs('AWS::Lambda::Function', files.length);
  });

  it('refuses to synthesize a handler file nobody has reviewed in FUNCTION_NEEDS', () => {
    // Prepare
    const dir = mkdtempSync(join(scratch, 'audit-trail-unreviewed-'));
    for (const name of [...Object.keys(FUNCTION_NEEDS), 'sneaky-export'])
      writeFileSync(join(dir, `${name}.ts`), '');
    // Act
    const act = () =>
      new AuditTrailStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'X', {
        auditTrail: { handlersDir: dir },
      });
    // Assess
    try {
      expect(act).toThrow(/sneaky-export\.ts has no entry in FUNCTION_NEEDS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs every function on arm64 with the Node.js 24 runtime, X-Ray tracing and source maps', () => {
    // Assess
    for (const id of functionIds(full).values()) {
      const properties = full.json.Resources[id]?.Properties ?? {};
      expect(properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }) },
      });
    }
  });

  it('gives every function a log group with a retention period', () => {
    // Assess
    const groups = full.template.findResources('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: Match.anyValue() },
    });
    // One per function plus the API access logs and the export state machine's.
    expect(Object.keys(groups)).toHaveLength(functionIds(full).size + 2);
  });

  it('reserves concurrency for the purge and export workers and the export chunks only', () => {
    // Prepare
    const ids = functionIds(full);
    // Assess
    for (const [name, id] of ids) {
      const reserved = full.json.Resources[id]?.Properties.ReservedConcurrentExecutions;
      if (name === 'purge-worker' || name === 'export-worker') expect(reserved).toBeGreaterThan(0);
      else if (name === 'export-chunk') expect(reserved).toBe(10);
      else expect(reserved).toBeUndefined();
    }
  });

  it('tells the purge functions which worker to launch, and the download function which state machine', () => {
    // Prepare
    const ids = functionIds(full);
    const env = (name: string) =>
      (propertiesOf(full, ids.get(name)).Environment as { Variables: Json }).Variables;
    // Assess
    expect(env('purge').PURGE_WORKER_FUNCTION).toBe('AuditTrail-purge-worker');
    expect(env('purge-worker').PURGE_WORKER_FUNCTION).toBe('AuditTrail-purge-worker');
    // The retention scheduler purges the #unauthenticated partition after this many days.
    expect(env('purge-scheduler').UNAUTHENTICATED_RETENTION_DAYS).toBe('30');
    expect(env('download-json').EXPORT_STATE_MACHINE_ARN).toEqual({
      Ref: logicalIdOfType(full, 'AWS::StepFunctions::StateMachine', 'ExportStateMachine'),
    });
    expect(propertiesOf(full, ids.get('purge-worker')).FunctionName).toBe('AuditTrail-purge-worker');
    expect(propertiesOf(full, ids.get('export-worker')).FunctionName).toBe('AuditTrail-export-worker');
    expect(env('canary-fetch')).toMatchObject({
      JOB_LAUNCHER: 'lambda',
      EVENTS_TABLE: { Ref: logicalIdOfType(full, 'AWS::DynamoDB::Table', 'EventsTable') },
      CONTROL_TABLE: { Ref: logicalIdOfType(full, 'AWS::DynamoDB::Table', 'ControlTable') },
      CURSOR_KEY_SECRET_ARN: { Ref: logicalIdOfType(full, 'AWS::SecretsManager::Secret', 'CursorKey') },
    });
    // Functions that never sign cursors are not told where the key is.
    expect(env('ingest-events').CURSOR_KEY_SECRET_ARN).toBeUndefined();
    expect(env('purge-worker').CURSOR_KEY_SECRET_ARN).toBeUndefined();
  });
});

describe('API routes', () => {
  const integrationTarget = (s: Synthesized, method: apigateway.Method): string => {
    // The id the template has (overrides included), not the one the construct path alone would give.
    const id = s.stack.resolve((method.node.defaultChild as apigateway.CfnMethod).logicalId) as string;
    const uri = JSON.stringify((propertiesOf(s, id).Integration as Json).Uri);
    const target = [...functionIds(s)].find(([, fnId]) => uri.includes(`"${fnId}"`));
    return target?.[0] ?? 'none';
  };
  const methodAt = (s: Synthesized, path: string, httpMethod: string): apigateway.Method => {
    const resource = s.stack.auditTrail.api.root.resourceForPath(path);
    const method = resource.node.tryFindChild(httpMethod);
    if (!(method instanceof apigateway.Method)) throw new Error(`no ${httpMethod} ${path}`);
    return method;
  };

  it('maps every route of lambdas/routes.ts to its handler function', () => {
    // Assess
    expect(ROUTES.length).toBeGreaterThan(0);
    for (const route of ROUTES) {
      expect([
        route.method,
        route.path,
        integrationTarget(real, methodAt(real, route.path, route.method)),
      ]).toEqual([route.method, route.path, route.handler]);
    }
  });

  it('sends every other method and unknown path to the fallback handler', () => {
    // Prepare
    const anyMethods = real.stack.auditTrail.api.methods.filter((method) => method.httpMethod === 'ANY');
    // Assess
    expect(integrationTarget(real, methodAt(real, '/{proxy+}', 'ANY'))).toBe(FALLBACK_HANDLER);
    for (const route of ROUTES) {
      expect(integrationTarget(real, methodAt(real, route.path, 'ANY'))).toBe(FALLBACK_HANDLER);
    }
    for (const method of anyMethods) expect(integrationTarget(real, method)).toBe(FALLBACK_HANDLER);
  });

  it('serves HEAD wherever GET is served, through the GET handler', () => {
    // Assess
    for (const route of ROUTES.filter((candidate) => candidate.method === 'GET')) {
      expect([route.path, integrationTarget(real, methodAt(real, route.path, 'HEAD'))]).toEqual([
        route.path,
        route.handler,
      ]);
    }
  });

  it("answers API Gateway's own 429s with Retry-After and a dialect-shaped body", () => {
    // Assess
    for (const type of ['THROTTLED', 'QUOTA_EXCEEDED']) {
      real.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: '429',
        ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'1'" }),
        ResponseTemplates: {
          'application/json': Match.stringLikeRegexp('"result":"error"[\\s\\S]*'),
        },
      });
    }
  });

  it("answers API Gateway's own 413 in the dialect's error shape", () => {
    // Assess
    real.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'REQUEST_TOO_LARGE',
      StatusCode: '413',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"name":"PayloadTooLarge"') },
    });
  });

  it('leaves CORS off by default: no allow-list reaches any function', () => {
    // Assess
    for (const fn of Object.values(real.template.findResources('AWS::Lambda::Function'))) {
      expect(JSON.stringify(fn.Properties.Environment ?? {})).not.toContain('CORS_ALLOW_ORIGINS');
    }
  });

  it('hands the CORS allow-list to the functions, and refuses what is not an origin', () => {
    // Prepare
    const withOrigins = (origins: string[]) => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      return new AuditTrailStack(app, 'AuditTrail', { auditTrail: { corsAllowOrigins: origins } });
    };

    // Act
    const template = Template.fromStack(
      withOrigins(['https://console.example.com', 'http://localhost:5173']),
    );

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CORS_ALLOW_ORIGINS: 'https://console.example.com,http://localhost:5173',
        }),
      },
    });
    for (const bad of ['*', 'https://example.com/', 'example.com', 'https://*.example.com'])
      expect(() => withOrigins([bad])).toThrow('corsAllowOrigins');
  });

  it('authorizes every method with the REQUEST authorizer, uncached and without identity sources', () => {
    // Prepare
    const authorizerFn = functionIds(real).get(AUTHORIZER_HANDLER);
    // Assess
    real.template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
    });
    const authorizer = Object.values(real.template.findResources('AWS::ApiGateway::Authorizer'))[0];
    expect(JSON.stringify(authorizer)).toContain(`"${authorizerFn}"`);
    const methods = Object.values(real.template.findResources('AWS::ApiGateway::Method'));
    expect(methods.length).toBeGreaterThan(ROUTES.length);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('CUSTOM');
  });

  it('serves zips as binary, logs access, throttles and traces the stage', () => {
    // Assess
    real.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: Match.arrayWith(['application/x-zip-compressed', '*/*']),
    });
    real.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('resourcePath') },
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200, DataTraceEnabled: false }),
      ]),
    });
  });
});

describe('least privilege', () => {
  it('never grants a wildcard action, and a wildcard resource only to X-Ray and log delivery', () => {
    // Prepare
    const statements = Object.values(full.template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    // Assess
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
      if (statement.Resource === '*') {
        // X-Ray, and the state machine's CloudWatch Logs delivery: neither has resource-level permissions.
        const unscoped = (action: string) =>
          action.startsWith('xray:') ||
          /^logs:(Create|Get|Update|Delete)LogDelivery$|^logs:(ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/.test(
            action,
          );
        expect(asArray(statement.Action).filter((action) => !unscoped(action))).toEqual([]);
      }
    }
  });

  it('grants each function exactly the table, bucket and invoke access FUNCTION_NEEDS lists', () => {
    // Prepare
    const events = logicalIdOfType(full, 'AWS::DynamoDB::Table', 'EventsTable');
    const control = logicalIdOfType(full, 'AWS::DynamoDB::Table', 'ControlTable');
    const exportsBucket = logicalIdOfType(full, 'AWS::S3::Bucket', 'ExportsBucket');
    const archive = logicalIdOfType(full, 'AWS::S3::Bucket', 'ArchiveBucket');
    const ids = functionIds(full);
    const tableActions = (access: string | undefined) =>
      access === undefined
        ? []
        : [
            'dynamodb:BatchGetItem',
            'dynamodb:ConditionCheckItem',
            'dynamodb:GetItem',
            'dynamodb:Query',
            ...(access === 'readWrite'
              ? ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']
              : []),
          ].sort();
    const bucketActions = (access: string | undefined) =>
      access === undefined
        ? []
        : [
            ...(access !== 'write' ? ['s3:GetObject', 's3:ListBucket'] : []),
            ...(access !== 'read' ? ['s3:AbortMultipartUpload', 's3:PutObject'] : []),
            ...(access === 'readWriteDelete' ? ['s3:DeleteObject'] : []),
          ].sort();
    // Assess
    for (const [name, needs] of Object.entries(FUNCTION_NEEDS)) {
      const statements = statementsOf(full, name);
      expect({ name, actions: actionsOn(statements, events) }).toEqual({
        name,
        actions: tableActions(needs.events),
      });
      expect({ name, actions: actionsOn(statements, control) }).toEqual({
        name,
        actions: tableActions(needs.control),
      });
      expect({ name, actions: actionsOn(statements, exportsBucket) }).toEqual({
        name,
        actions: bucketActions(needs.exports),
      });
      expect({ name, actions: actionsOn(statements, archive) }).toEqual({
        name,
        actions: bucketActions(needs.archive),
      });
      // Only the stream consumer reads the events stream, and only that one stream.
      expect({
        name,
        stream: statements
          .filter(onStream)
          .map((statement) => [statement.Resource, asArray(statement.Action)]),
      }).toEqual({
        name,
        stream: needs.role === 'stream' ? [[{ 'Fn::GetAtt': [events, 'StreamArn'] }, [...STREAM_READ]]] : [],
      });
      const invoked = [...ids.keys()].filter((target) =>
        statements.some(
          (statement) =>
            asArray(statement.Action).includes('lambda:InvokeFunction') &&
            JSON.stringify(statement.Resource).includes(`:function:AuditTrail-${target}"`),
        ),
      );
      expect({ name, invokes: invoked.sort() }).toEqual({
        name,
        invokes: [...(needs.invokes ?? [])].sort(),
      });
    }
  });

  it('writes table items only on the table itself, reading the events indexes by name', () => {
    // Prepare
    const events = logicalIdOfType(full, 'AWS::DynamoDB::Table', 'EventsTable');
    const statements = statementsOf(full, 'export-worker');
    // Act
    const resources = JSON.stringify(statements.filter((s) => JSON.stringify(s.Resource).includes(events)));
    // Assess
    expect(resources).toContain('/index/byAction');
    expect(resources).toContain('/index/byActor');
    expect(resources).toContain('/index/byApiCall');
    expect(resources).not.toContain('/index/*');
    expect(actionsOn(statements, events)).not.toContain('dynamodb:PutItem');
  });
});

describe('data', () => {
  it('protects both tables with PITR, deletion protection and the customer-managed key', () => {
    // Assess
    const key = logicalIdOfType(full, 'AWS::KMS::Key', 'DataKey');
    const tables = full.template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(2);
    for (const table of Object.values(tables)) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
        },
      });
    }
  });

  it('lays out the events indexes and control TTL as table-definitions.ts does', () => {
    // Assess
    full.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'tenant', KeyType: 'HASH' },
        { AttributeName: 'id', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({ IndexName: 'byAction', Projection: { ProjectionType: 'ALL' } }),
        Match.objectLike({ IndexName: 'byActor', Projection: { ProjectionType: 'ALL' } }),
        Match.objectLike({
          IndexName: 'byApiCall',
          KeySchema: [
            { AttributeName: 'apiCallKey', KeyType: 'HASH' },
            { AttributeName: 'id', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ]),
    });
    full.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('denies non-TLS requests on every bucket', () => {
    // Prepare
    const buckets = Object.keys(full.template.findResources('AWS::S3::Bucket'));
    const policies = Object.values(full.template.findResources('AWS::S3::BucketPolicy'));
    // Assess
    expect(buckets).toHaveLength(3);
    for (const bucket of buckets) {
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: bucket }),
      );
      expect(policy?.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  it('expires exports after a day, aborts stale multipart uploads, and locks versioned archives', () => {
    // Assess
    full.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            ExpirationInDays: 1,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
    });
    full.template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })],
      },
    });
  });
});

describe('ingest and retention', () => {
  it('feeds the ingest-queue function from the bus queue, reporting batch item failures', () => {
    // Prepare
    const queue = logicalIdOfType(full, 'AWS::SQS::Queue', 'IngestQueue');
    // Assess
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionIds(full).get('ingest-queue') },
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    full.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { maxReceiveCount: 3, deadLetterTargetArn: Match.anyValue() },
    });
    full.template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [queue, 'Arn'] } })],
    });
  });

  it('runs the retention function daily from EventBridge Scheduler', () => {
    // Assess
    full.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: Match.stringLikeRegexp('^cron\\(\\d+ \\d+ \\* \\* \\? \\*\\)$'),
      Target: { Arn: { 'Fn::GetAtt': [functionIds(full).get('purge-scheduler'), 'Arn'] } },
    });
  });

  it('alarms on API 5xx, DLQ depth, and every function’s errors and throttles', () => {
    // Assess
    const alarms = Object.values(full.template.findResources('AWS::CloudWatch::Alarm'));
    const metrics = alarms.map((alarm) => alarm.Properties.MetricName as string);
    expect(metrics).toContain('5XXError');
    expect(metrics).toContain('ApproximateNumberOfMessagesVisible');
    expect(metrics.filter((m) => m === 'Errors')).toHaveLength(functionIds(full).size);
    expect(metrics.filter((m) => m === 'Throttles')).toHaveLength(functionIds(full).size);
  });
});

describe('export state machine', () => {
  const definitionOf = (s: Synthesized): Json => {
    const id = logicalIdOfType(s, 'AWS::StepFunctions::StateMachine', 'ExportStateMachine');
    const body = propertiesOf(s, id).DefinitionString as { 'Fn::Join': [string, unknown[]] };
    // The definition is a join of literal JSON and function ARNs; the ARNs become placeholders.
    const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'ARN')).join('');
    return JSON.parse(text) as Json;
  };

  it('plans, maps the chunks at most exportParallelism at once with retries, then finishes; failures abort', () => {
    // Act
    const definition = definitionOf(full) as {
      StartAt: string;
      States: Record<string, Json & { Retry?: Json[]; Catch?: Json[]; Next?: string }>;
    };
    const states = definition.States;
    const map = states.ExportChunks as Json & {
      MaxConcurrency: number;
      ItemsPath: string;
      ItemProcessor: { States: Record<string, { Retry: Json[] }> };
    };

    // Assess
    expect(definition.StartAt).toBe('ExportPlan');
    expect(map.ItemsPath).toBe('$.plan.chunks');
    expect(map.MaxConcurrency).toBe(10);
    expect(map.ItemProcessor.States.ExportChunk?.Retry).toContainEqual(
      expect.objectContaining({
        ErrorEquals: ['States.ALL'],
        MaxAttempts: 3,
        IntervalSeconds: 2,
        BackoffRate: 2,
      }),
    );
    expect(map.Next).toBe('ExportFinish');
    for (const name of ['ExportPlan', 'ExportWhole', 'ExportChunks', 'ExportFinish'])
      expect(states[name]?.Catch).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'ExportAbort' }),
      ]);
    expect(states.ExportAbort?.Next).toBe('ExportFailed');
  });

  it('logs every transition without execution data and traces with X-Ray', () => {
    // Assess
    full.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });

  it('lets only the functions that start exports start it, and invokes only the two export functions', () => {
    // Prepare
    const machine = logicalIdOfType(full, 'AWS::StepFunctions::StateMachine', 'ExportStateMachine');
    const ids = functionIds(full);
    const policies = Object.values(full.template.findResources('AWS::IAM::Policy'));
    const machineRole = (propertiesOf(full, machine).RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const machineStatements = policies
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${machineRole}"`))
      .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

    // Act
    const starters = [...ids.keys()].filter((name) =>
      statementsOf(full, name).some((statement) =>
        asArray(statement.Action).includes('states:StartExecution'),
      ),
    );
    const invoked = [...ids.entries()]
      .filter(([, id]) => actionsOn(machineStatements, id).includes('lambda:InvokeFunction'))
      .map(([name]) => name);

    // Assess
    expect(starters).toEqual(
      Object.entries(FUNCTION_NEEDS)
        .filter(([, needs]) => needs.startsExports)
        .map(([name]) => name),
    );
    expect(invoked.sort()).toEqual(['export-chunk', 'export-worker']);
  });

  it('alarms when an export job fails for good', () => {
    // Assess
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
    });
  });

  it('refuses an exportParallelism an inline Map cannot run', () => {
    // Act
    const build = () =>
      new AuditTrailStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'AuditTrail', {
        auditTrail: { exportParallelism: 41 },
      });
    // Assess
    expect(build).toThrow('exportParallelism must be an integer from 1 to 40');
  });
});

describe('events stream and its consumer', () => {
  const streamOf = (s: Synthesized) => ({
    events: logicalIdOfType(s, 'AWS::DynamoDB::Table', 'EventsTable'),
    dlq: logicalIdOfType(s, 'AWS::SQS::Queue', 'StreamDeadLetterQueue'),
    fn: functionIds(s).get('derive-stream'),
  });

  it('streams new and old images of the events table, as the local stack does', () => {
    // Prepare
    const { events } = streamOf(real);
    // Assess
    expect(propertiesOf(real, events).StreamSpecification).toEqual({
      StreamViewType: EVENTS_STREAM.StreamViewType,
    });
    expect(EVENTS_STREAM.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
  });

  it('feeds the stream to derive-stream in shard order, with partial batch responses, bisection and a DLQ', () => {
    // Prepare
    const { events, dlq, fn } = streamOf(real);
    // Act
    const mappings = Object.values(
      real.template.findResources('AWS::Lambda::EventSourceMapping', {
        Properties: { FunctionName: { Ref: fn } },
      }),
    );
    // Assess
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toEqual({
      FunctionName: { Ref: fn },
      EventSourceArn: { 'Fn::GetAtt': [events, 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 3600,
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
    });
  });

  it('keeps the DLQ encrypted and TLS-only, and lets only the consumer send to it', () => {
    // Prepare
    const { dlq } = streamOf(full);
    // Assess
    expect(propertiesOf(full, dlq)).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    full.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    const senders = [...functionIds(full).keys()].filter((name) =>
      statementsOf(full, name).some(
        (statement) =>
          asArray(statement.Action).includes('sqs:SendMessage') &&
          JSON.stringify(statement.Resource).includes(`"${dlq}"`),
      ),
    );
    expect(senders).toEqual(['derive-stream']);
  });

  it('grants the consumer the control table, the stream and the key, and nothing of S3 or the event items', () => {
    // Prepare
    const statements = statementsOf(full, 'derive-stream');
    const { events } = streamOf(full);
    // Act
    const actions = statements.flatMap((statement) => asArray(statement.Action));
    // Assess
    expect(actions.filter((action) => action.startsWith('s3:'))).toEqual([]);
    expect(actionsOn(statements, events)).toEqual([]);
    expect(actions.filter((action) => action.startsWith('kms:')).sort()).toEqual([
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:GetPublicKey',
      'kms:Sign',
    ]);
    // It signs checkpoints with the checkpoint key, and with no other key.
    const signing = statements.filter((statement) => asArray(statement.Action).includes('kms:Sign'));
    expect(signing).toHaveLength(1);
    expect(JSON.stringify(signing[0]?.Resource)).toContain('CheckpointKey');
    expect(Object.keys(FUNCTION_NEEDS['derive-stream'] ?? {}).sort()).toEqual(['control', 'role', 'tlogKey']);
  });

  it('alarms on iterator age over 60 s, on DLQ depth, and on batches the consumer stopped in', () => {
    // Prepare
    const { dlq, fn } = streamOf(real);
    // Assess
    real.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 60_000,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
    });
    real.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
    });
    real.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DerivationStopped',
      Namespace: 'AuditTrail',
      Statistic: 'Sum',
      Threshold: 1,
    });
    const logGroup = logicalIdOfType(real, 'AWS::Logs::LogGroup', 'DeriveStreamLogs');
    real.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroup },
      FilterPattern: `{ $.message = "${DERIVATION_STOPPED}" }`,
      MetricTransformations: [
        Match.objectLike({
          MetricName: 'DerivationStopped',
          MetricNamespace: 'AuditTrail',
          MetricValue: '1',
        }),
      ],
    });
    // The filter counts the line the handler really logs.
    const handler = readFileSync(
      fileURLToPath(new URL('../../lambdas/handlers/derive-stream.ts', import.meta.url)),
      'utf8',
    );
    expect(handler).toContain(`'${DERIVATION_STOPPED}'`);
  });

  it('creates no mapping, stream DLQ or stream alarms for a handler set without derive-stream', () => {
    // Prepare
    const dir = mkdtempSync(join(scratch, 'audit-trail-no-stream-'));
    for (const name of Object.keys(FUNCTION_NEEDS).filter((name) => name !== 'derive-stream'))
      writeFileSync(join(dir, `${name}.ts`), '');
    try {
      // Act
      const template = Template.fromStack(
        new AuditTrailStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'AuditTrail', {
          auditTrail: { handlersDir: dir },
        }),
      );
      // Assess
      const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
      expect(mappings.map((mapping) => JSON.stringify(mapping.Properties.EventSourceArn))).toEqual([
        expect.stringContaining('IngestQueue'),
      ]);
      expect(Object.keys(template.findResources('AWS::SQS::Queue')).join()).not.toContain('Stream');
      const metrics = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
        (alarm) => alarm.Properties.MetricName,
      );
      expect(metrics).not.toContain('IteratorAge');
      expect(metrics).not.toContain('DerivationStopped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes its settings from the streamConsumer prop and sends its alarms to the alarm topic', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const ops = 'arn:aws:sns:eu-west-1:111122223333:ops';
    // Act
    const stack = new AuditTrailStack(app, 'AuditTrail', {
      auditTrail: {
        streamConsumer: {
          batchSize: 200,
          maxBatchingWindow: Duration.seconds(5),
          retryAttempts: 3,
          maxRecordAge: Duration.hours(1),
          iteratorAgeAlarmThreshold: Duration.minutes(5),
        },
      },
    });
    stack.auditTrail.addAlarmTopic(sns.Topic.fromTopicArn(stack, 'Ops', ops));
    const template = Template.fromStack(stack);
    // Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 200,
      MaximumBatchingWindowInSeconds: 5,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 300_000,
    });
    for (const metric of ['IteratorAge', 'DerivationStopped'])
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        AlarmActions: [ops],
        OKActions: [ops],
      });
  });
});

describe('self-audit delivery', () => {
  const consumerOf = (s: Synthesized) => ({
    fn: functionIds(s).get('store-self-audit') as string,
    dlq: logicalIdOfType(s, 'AWS::SQS::Queue', 'SelfAuditDeadLetterQueue'),
  });

  it('subscribes the store-self-audit function to the log group of every function that records its calls, matching only self-audit lines', () => {
    // Prepare
    const { fn } = consumerOf(real);
    const recorders = [...functionIds(real).keys()].filter((name) => recordsCalls(needsOf(name))).sort();
    // Act
    const filters = Object.values(real.template.findResources('AWS::Logs::SubscriptionFilter'));
    const subscribed = filters
      .map((filter) => {
        const group = (filter.Properties.LogGroupName as { Ref: string }).Ref;
        return [...functionIds(real)].find(([, id]) =>
          JSON.stringify(propertiesOf(real, id).LoggingConfig).includes(`"${group}"`),
        )?.[0];
      })
      .sort();
    // Assess: the HTTP functions that touch data, not the OpenAPI or console functions.
    expect(recorders).toContain('canary-fetch');
    expect(recorders).toContain('not-found');
    expect(recorders).not.toContain('openapi');
    expect(recorders).not.toContain('console');
    expect(subscribed).toEqual(recorders);
    for (const filter of filters)
      expect(filter.Properties).toMatchObject({
        FilterPattern: SELF_AUDIT_FILTER_PATTERN,
        DestinationArn: { 'Fn::GetAtt': [fn, 'Arn'] },
      });
    expect(SELF_AUDIT_FILTER_PATTERN).toContain(SELF_AUDIT_MARKER);
    // CloudWatch Logs may invoke it, from those log groups only.
    const permissions = Object.values(
      real.template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] }, Principal: 'logs.amazonaws.com' },
      }),
    );
    expect(permissions).toHaveLength(recorders.length);
    for (const permission of permissions) expect(permission.Properties.SourceArn).toBeDefined();
  });

  it('retries a failed delivery twice within 6 hours, then records it in an encrypted, TLS-only queue only it may send to', () => {
    // Prepare
    const { fn, dlq } = consumerOf(full);
    // Assess
    full.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
    });
    expect(propertiesOf(full, dlq)).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    full.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    const senders = [...functionIds(full).keys()].filter((name) =>
      statementsOf(full, name).some(
        (statement) =>
          asArray(statement.Action).includes('sqs:SendMessage') &&
          JSON.stringify(statement.Resource).includes(`"${dlq}"`),
      ),
    );
    expect(senders).toEqual(['store-self-audit']);
  });

  it("alarms on the queue's depth and on the function's errors", () => {
    // Prepare
    const { fn, dlq } = consumerOf(real);
    // Assess
    real.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
    });
    real.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Threshold: 1,
    });
  });
});
