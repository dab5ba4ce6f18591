import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

const strip = async (request: {
  event: APIGatewayProxyEvent;
  response: APIGatewayProxyResult | null | undefined;
}) => {
  if (request.event.httpMethod !== 'HEAD' || !request.response) return;
  request.response = { ...request.response, body: '', isBase64Encoded: false };
};

/**
 * HEAD is answered by the GET handler (routes.ts `findRoute`): same status and headers, no body.
 * Use it outermost, so the self-audit record still sees the body's error message.
 */
export const headWithoutBody = (): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  after: strip,
  onError: strip,
});
