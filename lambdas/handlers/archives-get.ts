import { type ArchiveGetDependencies, archiveGetDependencies } from '../composition/archives.js';
import { environmentConfig } from '../composition/environment.js';
import { NotFoundError } from '../domain/errors.js';
import { parseArchiveKey } from '../domain/purge.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';

/**
 * `GET /api/v1/audit_trail/archives/{key}`: 303 to a presigned GET (at most 5 minutes, as an
 * attachment) of one archive part or manifest. The key is validated against the archive key
 * pattern and the object key is built under the caller's own tenant, so no key reaches another
 * tenant's objects: theirs, and malformed keys, are 404s like unknown ones.
 */
export const makeHandler = (dependencies: DependenciesProvider<ArchiveGetDependencies>) =>
  httpHandler({ dialect: 'canary', scope: 'download' }, dependencies, async (event, context, deps) => {
    const key = event.pathParameters?.key ?? '';
    // A malformed key names no archive: 404 like an unknown one (as malformed job ids), no lookup.
    const notFound = () => new NotFoundError(`No archive ${key.slice(0, 200)}`);
    if (!parseArchiveKey(key)) throw notFound();
    const { links } = deps;
    const tenant = principalOf(context).tenant;
    if (!links || !(await links.exists(tenant, key))) throw notFound();
    const url = await links.presign(tenant, key, key, deps.archiveUrlSeconds);
    return jsonResponse(303, { result: 'success', url }, { location: url });
  });

export const handler = makeHandler(() => archiveGetDependencies(environmentConfig()));
