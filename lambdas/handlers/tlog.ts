import { environmentConfig } from '../composition/environment.js';
import { type TlogEndpointDependencies, tlogEndpointDependencies } from '../composition/tlog-api.js';
import { BadRequestError, NotFoundError } from '../domain/errors.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { integerParameter } from '../http/parameters.js';
import {
  checkpointAnswer,
  entryInclusionProof,
  latestCheckpoint,
  treeConsistencyProof,
} from '../use-cases/tlog-proofs.js';

/** A non-negative integer query parameter (the one integer grammar), or undefined when absent. */
const optionalCount = (query: Readonly<Record<string, string | undefined>>, name: string, min = 0) => {
  const text = query[name];
  if (text === undefined) return undefined;
  const parsed = integerParameter(
    min,
    Number.MAX_SAFE_INTEGER,
    `${name} must be an integer ≥ ${min}`,
  ).safeParse(text);
  if (!parsed.success) throw new BadRequestError(`${name} must be an integer ≥ ${min}`, { field: name });
  return parsed.data;
};

const required = (value: number | undefined, name: string): number => {
  if (value === undefined) throw new BadRequestError(`${name} is required`, { field: name });
  return value;
};

/**
 * The verifiable log of the caller's tenant (docs/architecture.md, "The verifiable log"):
 * `GET /api/v1/tlog/checkpoint` (the latest signed checkpoint), `/api/v1/tlog/key` (the checkpoint
 * key's public half), `/api/v1/tlog/proof/inclusion?id=&tree_size=` and
 * `/api/v1/tlog/proof/consistency?first=&second=`. A tenant sees only its own log.
 */
export const makeHandler = (dependencies: DependenciesProvider<TlogEndpointDependencies>) =>
  httpHandler({ dialect: 'canary', scope: 'read' }, dependencies, async (event, context, deps) => {
    const tenant = principalOf(context).tenant;
    const query = event.queryStringParameters ?? {};
    const route = (event.resource ?? event.path ?? '').replace(/\/$/, '');
    switch (route) {
      case '/api/v1/tlog/checkpoint':
        return jsonResponse(200, {
          result: 'success',
          ...(await checkpointAnswer(deps.tlog, await latestCheckpoint(deps.tlog, tenant))),
        });
      case '/api/v1/tlog/key': {
        const verifier = await deps.tlog.verifier();
        return jsonResponse(200, {
          result: 'success',
          key: verifier.encoded,
          key_name: verifier.name,
          key_id: verifier.keyId.toString(16).padStart(8, '0'),
          origin: `${deps.origin}/${tenant}`,
        });
      }
      case '/api/v1/tlog/proof/inclusion': {
        const id = required(optionalCount(query, 'id', 1), 'id');
        const size = optionalCount(query, 'tree_size', 1);
        return jsonResponse(200, {
          result: 'success',
          ...(await entryInclusionProof(deps.tlog, tenant, id, size)),
        });
      }
      case '/api/v1/tlog/proof/consistency': {
        const first = required(optionalCount(query, 'first'), 'first');
        const second = optionalCount(query, 'second');
        return jsonResponse(200, {
          result: 'success',
          ...(await treeConsistencyProof(deps.tlog, tenant, first, second)),
        });
      }
      default:
        throw new NotFoundError('No such verifiable-log resource');
    }
  });

export const handler = makeHandler(() => tlogEndpointDependencies(environmentConfig()));
