import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { AUTHORIZER_HANDLER, BINARY_MEDIA_TYPES, FALLBACK_HANDLER, ROUTES } from '../../lambdas/routes.js';
import { DEFAULTS } from './defaults.js';
import { keepEmbeddedIds, keptUniqueName, Part } from './part.js';

/** API Gateway stage throttling. */
export interface ThrottlingLimits {
  /** Steady-state requests per second across the stage. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

/** Seconds API Gateway's own 429s (stage throttling, quotas) tell clients to wait (`Retry-After`). */
export const THROTTLED_RETRY_AFTER_SECONDS = 1;

/** Properties of {@link Api}. */
export interface ApiProps {
  /**
   * The function of each handler named by lambdas/routes.ts, the authorizer and the fallback.
   */
  readonly functionOf: (handler: string) => lambda.IFunction;
  /**
   * The API Gateway stage name (also part of the API's name).
   * @default 'v1'
   */
  readonly stageName?: string;
  /**
   * Stage-wide API throttling.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttling?: ThrottlingLimits;
  /**
   * Retention of the access logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the access log group and API Gateway's CloudWatch role on stack deletion.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A regional WAFv2 web ACL to associate with the stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
}

/**
 * The REST API: every route of lambdas/routes.ts (HEAD wherever GET), the REQUEST authorizer, a
 * fallback for every other method and path, dialect-shaped gateway responses, access logs.
 */
export class Api extends Part {
  readonly restApi: apigateway.RestApi;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? DEFAULTS.stageName;
    const throttling = props.throttling ?? DEFAULTS.throttling;
    const logRetention = props.logRetention ?? DEFAULTS.logRetention;
    const removalPolicy = props.removalPolicy ?? DEFAULTS.removalPolicy;
    const webAclArn = props.webAclArn;
    const fnOf = props.functionOf;
    const authorizer = new apigateway.RequestAuthorizer(this, 'RequestAuthorizer', {
      handler: fnOf(AUTHORIZER_HANDLER),
      // Credentials come as x-api-key, Authorization: Bearer, an auth_token query or form field, or
      // kore's auth header. API Gateway rejects a request lacking any configured identity source
      // with its own 401 (wrong body, and never audited), and caching requires identity sources. So
      // API Gateway caches nothing; the authorizer keeps a per-container cache of resolved tokens
      // (AUTH_CACHE_SECONDS) that spares DynamoDB the repeated look-ups.
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
      // The generated name derives from the construct path: keep the one it had before the parts.
      authorizerName: keptUniqueName(this, 'RequestAuthorizer'),
    });
    (authorizer.node.defaultChild as apigateway.CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: `audit-trail-${stageName}`,
      description: 'Audit Trail: canary, kore and api-key audit-trail dialects over one store',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: removalPolicy,
      // Every type is binary (lambdas/routes.ts BINARY_MEDIA_TYPES, which the local gateway mirrors):
      // request bodies arrive base64-encoded, and zips returned base64-encoded reach clients as bytes.
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      deployOptions: {
        stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Full request/response logging would write credentials (auth_token, x-api-key) to logs.
        dataTraceEnabled: false,
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        // Standard fields log the resource template (not the raw path or query), so no credential.
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
      },
      defaultMethodOptions: { authorizer, authorizationType: apigateway.AuthorizationType.CUSTOM },
    });
    keepEmbeddedIds(authorizer, api);
    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-wide role API Gateway needs to write execution and access logs; AWS maintains its policy.',
      });
    }
    Validations.of(api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Requests are validated by each handler (zod) so that bad input gets a 400 in the dialect’s own error body; an API Gateway validator would answer with its own body.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Callers authenticate with service-issued API tokens and kore JWTs, resolved by the Lambda REQUEST authorizer; there is no Cognito user pool.',
      },
    );
    if (webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: api.deploymentStage.stageArn,
        webAclArn,
      });
    } else {
      Validations.of(api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'A WAF web ACL is account policy and costs per request; pass webAclArn to associate one. Stage throttling and the authorizer bound abuse meanwhile.',
      });
    }

    // Routes from lambdas/routes.ts, the same table the local gateway serves.
    const known = new Set<apigateway.Resource | apigateway.IResource>([api.root]);
    for (const route of ROUTES) {
      const resource = api.root.resourceForPath(route.path);
      for (let r: apigateway.IResource | undefined = resource; r; r = r.parentResource) known.add(r);
      const integration = new apigateway.LambdaIntegration(fnOf(route.handler));
      resource.addMethod(route.method, integration);
      // HEAD works wherever GET does: the GET handler answers it (and drops the body).
      if (route.method === 'GET') resource.addMethod('HEAD', integration);
    }
    // API Gateway's own 429s (stage throttling, usage-plan quotas) carry Retry-After like the
    // service's; they and its 413 (a body over 10 MB) answer in the error shape of the dialect.
    for (const [id, type] of [
      ['Throttled', apigateway.ResponseType.THROTTLED],
      ['QuotaExceeded', apigateway.ResponseType.QUOTA_EXCEEDED],
    ] as const) {
      api.addGatewayResponse(id, {
        type,
        statusCode: '429',
        responseHeaders: {
          'Retry-After': `'${THROTTLED_RETRY_AFTER_SECONDS}'`,
          'Cache-Control': "'no-store'",
        },
        templates: {
          'application/json': dialectErrorTemplate(
            429,
            'TooManyRequests',
            'Too many requests: retry after Retry-After seconds',
          ),
        },
      });
    }
    api.addGatewayResponse('RequestTooLarge', {
      type: apigateway.ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      responseHeaders: { 'Cache-Control': "'no-store'" },
      templates: {
        'application/json': dialectErrorTemplate(413, 'PayloadTooLarge', 'The request is larger than 10 MB'),
      },
    });
    // Everything else reaches the fallback, which answers 405 (with Allow) on a known path and 404
    // elsewhere, in the dialect's error shape. ANY on a resource only catches methods it lacks.
    // One API-wide invoke permission instead of one per method: the fallback answers any method
    // and path anyway, and dozens of per-method statements approach Lambda's 20 KB policy limit.
    const fallback = new apigateway.LambdaIntegration(fnOf(FALLBACK_HANDLER), {
      scopePermissionToMethod: false,
    });
    for (const resource of known) {
      resource.addMethod('ANY', fallback);
      // A resource cannot have two variable children, so a {name} child already catches the rest.
      const prefix = resource.path === '/' ? '/' : `${resource.path}/`;
      const hasVariableChild = ROUTES.some(
        (route) => route.path.startsWith(prefix) && route.path.slice(prefix.length).startsWith('{'),
      );
      if (!hasVariableChild) resource.addResource('{proxy+}').addMethod('ANY', fallback);
    }
    this.restApi = api;
  }
}

/**
 * The body of an answer API Gateway makes itself, in the dialect of the route
 * (`$context.resourcePath`, the resource template, so a custom domain's base path does not
 * matter): kore under /api/public/, api-key at /api/v1/audit-trail, canary elsewhere (as
 * lambdas/http/dialects.ts `dialectOfPath` and `errorBody`).
 */
const dialectErrorTemplate = (status: number, name: string, message: string): string =>
  [
    '#if($context.resourcePath.startsWith("/api/public/"))',
    JSON.stringify({ errors: [{ msg: message, code: status }] }),
    '#elseif($context.resourcePath.startsWith("/api/v1/audit-trail"))',
    JSON.stringify({ message, name, status }),
    '#else',
    JSON.stringify({ result: 'error', message }),
    '#end',
  ].join('\n');
