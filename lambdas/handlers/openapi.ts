import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import document from '../../openapi/openapi.json' with { type: 'json' };
import { headWithoutBody } from '../http/head.js';

const body = JSON.stringify(document);

/**
 * `GET /openapi.json` (and HEAD): the OpenAPI 3.1 description of every endpoint. Public (it
 * describes, it discloses nothing), bundled into the function so it needs no file at run time.
 * The one answer readable from any origin (`Access-Control-Allow-Origin: *`, no credentials
 * involved), so documentation tools on other sites can load it whatever the CORS allow-list.
 */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(headWithoutBody())
  .handler(async () => ({
    statusCode: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
      'access-control-allow-origin': '*',
    },
    body,
  }));
