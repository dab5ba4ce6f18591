import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { dialectOfPath } from '../../lambdas/handlers/not-found.js';
import document from '../../openapi/openapi.json' with { type: 'json' };

// ajv-formats is CommonJS; under ESM its function may sit on `default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type PathItem = Record<string, Operation>;

const SPEC_ID = 'openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(document, SPEC_ID);

const paths = document.paths as unknown as Record<string, PathItem>;
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
 * Checks a response against openapi/openapi.json: its path, method and status must be documented,
 * and a JSON body must match the documented schema. The one exception: 404 for a path no endpoint
 * has and 405 for a method a path does not serve (what the fallback handler answers), which must
 * carry the dialect's error body. Returns a clear message for the first problem, or undefined.
 */
export const checkResponse = (
  method: string,
  path: string,
  status: number,
  contentType: string,
  body: unknown,
): string | undefined => {
  const where = `${method} ${path} → ${status}`;
  const isJson = contentType.includes('json');
  const match = templates.find(({ regex }) => regex.test(path));
  const fallbackBody = (expected: number, why: string) => {
    if (status !== expected) return `${where}: ${why} (openapi/openapi.json documents no such operation)`;
    const schema = ERROR_SCHEMAS[dialectOfPath(path)];
    return validateBody(where, pointer('components', 'schemas', schema), body, isJson);
  };
  if (!match) return fallbackBody(404, 'undocumented path');
  const operation = paths[match.template]?.[method.toLowerCase()];
  if (!operation) return fallbackBody(405, `undocumented method for ${match.template}`);
  const response = operation.responses[String(status)];
  if (!response)
    return `${where}: status ${status} is not documented for ${method} ${match.template} (documented: ${Object.keys(operation.responses).join(', ')})`;
  if (!isJson) {
    const documented = Object.keys(response.content ?? {});
    if (documented.length > 0 && !documented.some((type) => contentType.startsWith(type)))
      return `${where}: content type ${contentType || '(none)'} is not documented (${documented.join(', ')})`;
    return undefined;
  }
  if (!response.content?.['application/json'])
    return `${where}: a JSON body is not documented for this status`;
  return validateBody(
    where,
    pointer(
      'paths',
      match.template,
      method.toLowerCase(),
      'responses',
      String(status),
      'content',
      'application/json',
      'schema',
    ),
    body,
    isJson,
  );
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
