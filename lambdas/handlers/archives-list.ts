import { type ArchiveListDependencies, archiveListDependencies } from '../composition/archives.js';
import { environmentConfig } from '../composition/environment.js';
import { manifestKey } from '../domain/purge.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';

/**
 * `GET /api/v1/audit_trail/archives`: the caller's archive objects (one per part of each purge
 * run), oldest first, as their manifests list them. Only the caller's tenant prefix is read.
 */
export const makeHandler = (dependencies: DependenciesProvider<ArchiveListDependencies>) =>
  httpHandler(
    { dialect: 'canary', scope: 'download' },
    dependencies,
    async (_event, context, { archives }) => {
      const manifests = archives ? await archives.listManifests(principalOf(context).tenant) : [];
      return jsonResponse(200, {
        result: 'success',
        archives: manifests.flatMap((manifest) =>
          manifest.parts.map((part) => ({
            key: part.key,
            job_id: manifest.jobId,
            created: new Date(part.created).toISOString(),
            count: part.count,
            first_id: part.firstId,
            last_id: part.lastId,
            size: part.size,
            sha256: part.sha256,
            manifest: manifestKey(manifest.jobId),
          })),
        ),
      });
    },
  );

export const handler = makeHandler(() => archiveListDependencies(environmentConfig()));
