import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
  Context,
} from 'aws-lambda';
import { PayloadTooLargeError } from '../lambdas/domain/errors.js';
import { dialectOfPath, errorResponse } from '../lambdas/http/dialects.js';
import {
  AUTHORIZER_HANDLER,
  BINARY_MEDIA_TYPES,
  FALLBACK_HANDLER,
  findRoute,
  isBinaryMediaType,
} from '../lambdas/routes.js';

/** API Gateway's largest request payload. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's integration timeout: the budget a request handler gets. */
const REQUEST_BUDGET_MS = 29_000;

/** How the gateway is served. */
export interface GatewayOptions {
  /**
   * The loopback address to listen on.
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * The binary media types the API declares, which decide whether a request body reaches the
   * handler base64-encoded (as `isBinaryMediaType` says). Tests pass `[]` to send bodies as text.
   * @default BINARY_MEDIA_TYPES, what the CDK construct declares: every body is base64-encoded
   */
  readonly binaryMediaTypes?: readonly string[];
}

/**
 * The body as API Gateway's REST proxy event carries it: null when empty, base64 with
 * `isBase64Encoded` when its Content-Type is one of `binaryMediaTypes`, else UTF-8 text.
 */
export const proxyBody = (
  body: Buffer,
  contentType: string | undefined,
  binaryMediaTypes: readonly string[] = BINARY_MEDIA_TYPES,
): Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'> => {
  if (body.length === 0) return { body: null, isBase64Encoded: false };
  const isBinary = isBinaryMediaType(contentType, binaryMediaTypes);
  return { body: body.toString(isBinary ? 'base64' : 'utf8'), isBase64Encoded: isBinary };
};

type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;
const handlers = new Map<string, Promise<LambdaHandler<unknown, unknown>>>();

/** Loads a handler module from lambdas/handlers/ once, as a Lambda container would. */
const loadHandler = <E, R>(name: string): Promise<LambdaHandler<E, R>> => {
  let loaded = handlers.get(name);
  if (!loaded) {
    loaded = import(`../lambdas/handlers/${name}.js`).then(
      (module: { handler: LambdaHandler<unknown, unknown> }) => module.handler,
    );
    handlers.set(name, loaded);
  }
  return loaded as Promise<LambdaHandler<E, R>>;
};

const lambdaContext = (functionName: string, budgetMs: number): Context => {
  const deadline = Date.now() + budgetMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

const readBody = (request: IncomingMessage): Promise<Buffer | 'too-large'> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });

/** Builds the REST API (v1) proxy event API Gateway would send for this request. */
const proxyEvent = (
  request: IncomingMessage,
  url: URL,
  body: Buffer,
  resource: string,
  pathParameters: Record<string, string>,
  binaryMediaTypes: readonly string[],
): APIGatewayProxyEvent => {
  // Maps, then Object.fromEntries: names like "__proto__" or "constructor" stay plain own keys.
  const headerValues = new Map<string, string[]>();
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] as string;
    headerValues.set(name, [...(headerValues.get(name) ?? []), request.rawHeaders[i + 1] as string]);
  }
  const queryValues = new Map<string, string[]>();
  for (const [name, value] of url.searchParams)
    queryValues.set(name, [...(queryValues.get(name) ?? []), value]);
  const last = (values: string[]) => values[values.length - 1] as string;
  // API Gateway sets these itself, whatever the client sent.
  const sourceIp = (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  for (const name of [...headerValues.keys()])
    if (/^x-forwarded-(proto|port|for)$/i.test(name)) headerValues.delete(name);
  headerValues.set('X-Forwarded-Proto', ['http']);
  headerValues.set('X-Forwarded-Port', [String(request.socket.localPort ?? 80)]);
  headerValues.set('X-Forwarded-For', [sourceIp]);
  const headers = Object.fromEntries([...headerValues].map(([name, values]) => [name, last(values)]));
  const multiValueHeaders = Object.fromEntries(headerValues);
  const query = Object.fromEntries([...queryValues].map(([name, values]) => [name, last(values)]));
  const multiQuery = Object.fromEntries(queryValues);
  return {
    resource,
    path: url.pathname,
    httpMethod: request.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    ...proxyBody(body, request.headers['content-type'], binaryMediaTypes),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method ?? 'GET',
      identity: {
        sourceIp,
        userAgent: request.headers['user-agent'] ?? null,
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        user: null,
        userArn: null,
      },
      // The URL the client called: its host, and its full path (no stage prefix locally).
      domainName: request.headers.host ?? `127.0.0.1:${request.socket.localPort ?? 80}`,
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
    },
  };
};

const send = (response: ServerResponse, result: APIGatewayProxyResult) => {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name] = values.map(String);
  const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode, { ...headers, 'content-length': String(body.length) });
  response.end(body);
};

/**
 * Serves the handlers over HTTP the way API Gateway does: each request becomes a REST proxy event,
 * the real authorizer runs first and its context reaches the handler.
 */
export const handleRequest = async (
  request: IncomingMessage,
  response: ServerResponse,
  binaryMediaTypes: readonly string[] = BINARY_MEDIA_TYPES,
): Promise<void> => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const method = request.method ?? 'GET';
  // HEAD is served by the GET route (as the construct wires it); OPTIONS by the fallback.
  const found = findRoute(method, url.pathname);
  const route = found && { candidate: found.route, parameters: found.parameters };
  const body = await readBody(request);
  if (body === 'too-large') {
    // As the construct's gateway response: the dialect's error shape.
    send(
      response,
      errorResponse(
        dialectOfPath(url.pathname),
        new PayloadTooLargeError(`The request is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB`),
      ),
    );
    return;
  }
  if (!route) {
    const fallback = await loadHandler<APIGatewayProxyEvent, APIGatewayProxyResult>(FALLBACK_HANDLER);
    send(
      response,
      await fallback(
        proxyEvent(request, url, body, '/{proxy+}', {}, binaryMediaTypes),
        lambdaContext(FALLBACK_HANDLER, REQUEST_BUDGET_MS),
      ),
    );
    return;
  }
  const event = proxyEvent(
    request,
    url,
    body,
    route.candidate.path,
    route.parameters ?? {},
    binaryMediaTypes,
  );
  const authorizer = await loadHandler<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>(
    AUTHORIZER_HANDLER,
  );
  const decision = await authorizer(
    {
      type: 'REQUEST',
      methodArn: `arn:aws:execute-api:local:000000000000:local/local/${method}${route.candidate.path}`,
      resource: event.resource,
      path: event.path,
      httpMethod: method,
      headers: event.headers,
      multiValueHeaders: event.multiValueHeaders,
      pathParameters: event.pathParameters,
      queryStringParameters: event.queryStringParameters,
      multiValueQueryStringParameters: event.multiValueQueryStringParameters,
      stageVariables: null,
      requestContext: { ...event.requestContext, authorizer: undefined },
    },
    lambdaContext(AUTHORIZER_HANDLER, 10_000),
  );
  event.requestContext.authorizer = { principalId: decision.principalId, ...(decision.context ?? {}) };
  const handler = await loadHandler<APIGatewayProxyEvent, APIGatewayProxyResult>(route.candidate.handler);
  send(response, await handler(event, lambdaContext(route.candidate.handler, REQUEST_BUDGET_MS)));
};

/** Starts the gateway on `host:port` (port 0 picks a free one). */
export const startGateway = (
  port: number,
  options: GatewayOptions = {},
): Promise<{ server: Server; url: string }> =>
  new Promise((resolve, reject) => {
    const host = options.host ?? '127.0.0.1';
    const server = createServer((request, response) => {
      handleRequest(request, response, options.binaryMediaTypes).catch((error: unknown) => {
        // What API Gateway answers when an integration fails: no details leak.
        process.stderr.write(
          `gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
        if (!response.headersSent)
          send(response, {
            statusCode: 502,
            headers: { 'content-type': 'application/json' },
            body: '{"message":"Internal server error"}',
          });
        else response.destroy();
      });
    });
    server.on('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      resolve({ server, url: `http://${host}:${actualPort}` });
    });
  });
