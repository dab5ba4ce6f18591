import { createHash } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { CONSOLE_ASSET_NAMES, type ConsoleAssetName, getConsoleAssets } from '../console-assets.js';
import { NotFoundError } from '../domain/errors.js';
import { consoleHtml, consoleSettingsOf, securityHeaders } from '../http/console-page.js';
import { errorResponse } from '../http/dialects.js';

/** Read once per container, as the other handlers read their configuration. */
const settings = consoleSettingsOf(process.env);

const CONTENT_TYPES: Record<ConsoleAssetName, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

let versions: Promise<Record<ConsoleAssetName, string>> | undefined;
const versionsOf = async (): Promise<Record<ConsoleAssetName, string>> => {
  const assets = await getConsoleAssets();
  const hash = (name: ConsoleAssetName) =>
    createHash('sha256').update(assets[name]).digest('base64url').slice(0, 16);
  return { 'app.js': hash('app.js'), 'app.css': hash('app.css') };
};

/** The path prefix in front of the route (API Gateway's stage, or a custom domain's base path). */
const basePathOf = (event: APIGatewayProxyEvent): string => {
  const full = event.requestContext?.path ?? event.path;
  const route = event.path.replace(/\/$/, '');
  const prefix = full.replace(/\/$/, '');
  return prefix.endsWith(route) ? prefix.slice(0, prefix.length - route.length) : '';
};

/**
 * `GET /console` and `GET /console/{asset}`: the audit trail console, a page that signs in with a
 * token and browses, filters and downloads the trail through this API. `?embed=1` is the mode a
 * product frames for its own customers (allowed only from CONSOLE_FRAME_ANCESTORS). Static: it
 * touches no data and records nothing (the API calls it makes are recorded as usual).
 */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(async (event) => {
  const asset = event.pathParameters?.asset;
  if (asset !== undefined) {
    if (!(CONSOLE_ASSET_NAMES as readonly string[]).includes(asset))
      return errorResponse('canary', new NotFoundError(`No console asset ${asset.slice(0, 64)}`));
    const name = asset as ConsoleAssetName;
    const body = (await getConsoleAssets())[name];
    versions ??= versionsOf();
    const etag = `"${(await versions)[name]}"`;
    const headers = {
      ...securityHeaders(settings, false),
      'content-type': CONTENT_TYPES[name],
      'cache-control': 'no-cache',
      etag,
    };
    const ifNoneMatch = Object.entries(event.headers ?? {}).find(
      ([header]) => header.toLowerCase() === 'if-none-match',
    )?.[1];
    if (ifNoneMatch === etag) return { statusCode: 304, headers, body: '' };
    return { statusCode: 200, headers, body: body.toString('utf8') };
  }
  const embed = event.queryStringParameters?.embed === '1';
  versions ??= versionsOf();
  const current = await versions;
  return {
    statusCode: 200,
    headers: {
      ...securityHeaders(settings, embed),
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    },
    body: consoleHtml({
      base: basePathOf(event),
      embed,
      embedOrigins: embed ? settings.frameAncestors : [],
      version: `${current['app.js']}.${current['app.css']}`,
    }),
  };
});
