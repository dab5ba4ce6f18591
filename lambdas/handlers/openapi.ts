import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import document from '../../openapi/openapi.json' with { type: 'json' };

const body = JSON.stringify(document);

/**
 * `GET /openapi.json`: the OpenAPI 3.1 description of every endpoint. Public (it describes, it
 * discloses nothing), bundled into the function so it needs no file at run time.
 */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(async () => ({
  statusCode: 200,
  headers: {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'public, max-age=300',
    'x-content-type-options': 'nosniff',
    'access-control-allow-origin': '*',
  },
  body,
}));
