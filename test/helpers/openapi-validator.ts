import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { dialectOfPath } from '../../lambdas/handlers/not-found.js';
import document from '../../openapi/openapi.json' with { type: 'json' };

// ajv-formats is CommonJS; under ESM its function may sit on `default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

interface Header {
  required?: boolean;
  schema?: { type?: string; format?: string; const?: unknown; minimum?: number };
}
interface Response {
  $ref?: string;
  headers?: Record<string, Header & { $ref?: string }>;
  content?: Record<string, { schema?: unknown }>;
}
interface Operation {
  responses: Record<string, Response>;
}
type PathItem = Record<string, Operation>;

const SPEC_ID = 'openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(document, SPEC_ID);

const paths = document.paths as unknown as Record<string, PathItem>;
const fallbacks = (document as unknown as { 'x-fallback-responses': Record<string, Response> })[
  'x-fallback-responses'
];
const templates = Object.keys(paths).map((template) => ({
  template,
  regex: new RegExp(
    `^${template
      .split('/')
      .map((segment) =>
        /^\{\w+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/')}/?$`,
  ),
}));

const pointer = (...parts: string[]) =>
  `${SPEC_ID}#/${parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** Follows a local `$ref` (`#/components/…`) to what it names. */
const resolve = <T>(value: T & { $ref?: string }): T => {
  if (!value.$ref) return value;
  let target: unknown = document;
  for (const part of value.$ref.replace(/^#\//, '').split('/'))
    target = (target as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (target === undefined) throw new Error(`openapi.json: dangling $ref ${value.$ref}`);
  return resolve(target as T & { $ref?: string });
};

const validators = new Map<string, ValidateFunction>();
const validatorFor = (ref: string): ValidateFunction => {
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  return validate;
};

const ERROR_SCHEMAS = { canary: 'CanaryError', kore: 'KoreError', apiKey: 'ApiKeyError' } as const;

/**
 * Response headers that mean something to a client: each must be documented on the response that
 * carries it. (Standard ones — content type and length, caching, `Vary`, `Access-Control-*`,
 * which the document's description covers for every answer — are not listed per response.)
 */
const SEMANTIC_HEADERS = ['location', 'retry-after', 'allow', 'idempotent-replayed', 'content-disposition'];

type HeaderSource = Headers | Readonly<Record<string, string>>;
const headerOf = (headers: HeaderSource, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return found?.[1];
};

/** Documented headers present and well-formed, required ones there, undocumented semantic ones absent. */
const checkHeaders = (where: string, response: Response, headers: HeaderSource): string | undefined => {
  const documented = new Map(
    Object.entries(response.headers ?? {}).map(([name, header]) => [name.toLowerCase(), resolve(header)]),
  );
  for (const name of SEMANTIC_HEADERS) {
    if (headerOf(headers, name) !== undefined && !documented.has(name))
      return `${where}: header ${name} is sent but not documented for this response`;
  }
  for (const [name, header] of documented) {
    const value = headerOf(headers, name);
    if (value === undefined) {
      if (header.required) return `${where}: documented required header ${name} is missing`;
      continue;
    }
    const schema = header.schema ?? {};
    if (schema.type === 'integer' && !/^\d+$/.test(value))
      return `${where}: header ${name} must be an integer, got ${value}`;
    if (schema.format === 'uri' && !URL.canParse(value))
      return `${where}: header ${name} must be an absolute URI, got ${value}`;
    if (schema.const !== undefined && value !== schema.const)
      return `${where}: header ${name} must be ${String(schema.const)}, got ${value}`;
  }
  return undefined;
};

/**
 * Checks a response against openapi/openapi.json: its path, method and status must be documented,
 * a JSON body must match the documented schema and, when `headers` are given, every required
 * documented header must be there (well-formed) and every header a client acts on (`Location`,
 * `Retry-After`, `Allow`, …) must be documented. 404 for a path no endpoint has and 405 for a
 * method a path does not serve are checked against the document's `x-fallback-responses`, in the
 * path's dialect. HEAD answers carry no body. Returns a clear message for the first problem.
 */
export const checkResponse = (
  method: string,
  path: string,
  status: number,
  contentType: string,
  body: unknown,
  headers?: HeaderSource,
): string | undefined => {
  const where = `${method} ${path} → ${status}`;
  const isJson = contentType.includes('json');
  const isHead = method.toUpperCase() === 'HEAD';
  const match = templates.find(({ regex }) => regex.test(path));
  const fallbackBody = (expected: number, why: string) => {
    const fallback = fallbacks[String(expected)];
    if (status !== expected || !fallback)
      return `${where}: ${why} (openapi/openapi.json documents no such operation)`;
    const problem = headers ? checkHeaders(where, fallback, headers) : undefined;
    if (problem || isHead) return problem;
    const schema = ERROR_SCHEMAS[dialectOfPath(path)];
    return validateBody(where, pointer('components', 'schemas', schema), body, isJson);
  };
  if (!match) return fallbackBody(404, 'undocumented path');
  const operation = paths[match.template]?.[method.toLowerCase()];
  if (!operation) return fallbackBody(405, `undocumented method for ${match.template}`);
  const documented = operation.responses[String(status)];
  if (!documented)
    return `${where}: status ${status} is not documented for ${method} ${match.template} (documented: ${Object.keys(operation.responses).join(', ')})`;
  const response = resolve(documented);
  if (headers) {
    const problem = checkHeaders(where, response, headers);
    if (problem) return problem;
  }
  if (isHead) return body === '' || body === undefined ? undefined : `${where}: a HEAD answer has a body`;
  if (!response.content) {
    return body === '' || body === undefined ? undefined : `${where}: a body is sent but none is documented`;
  }
  if (!isJson) {
    const types = Object.keys(response.content);
    if (types.length > 0 && !types.some((type) => contentType.startsWith(type)))
      return `${where}: content type ${contentType || '(none)'} is not documented (${types.join(', ')})`;
    return undefined;
  }
  if (!response.content['application/json']) return `${where}: a JSON body is not documented for this status`;
  const base = documented.$ref
    ? [...documented.$ref.replace(/^#\//, '').split('/')]
    : ['paths', match.template, method.toLowerCase(), 'responses', String(status)];
  return validateBody(where, pointer(...base, 'content', 'application/json', 'schema'), body, isJson);
};

const validateBody = (where: string, ref: string, body: unknown, isJson: boolean): string | undefined => {
  if (!isJson) return `${where}: expected a JSON body`;
  const validate = validatorFor(ref);
  if (validate(body)) return undefined;
  const problems = (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''}`)
    .join('; ');
  return `${where}: the body does not match ${ref.replace(`${SPEC_ID}#`, '')}: ${problems}. Body: ${JSON.stringify(body).slice(0, 500)}`;
};
