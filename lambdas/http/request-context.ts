import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { getServices } from '../services.js';
import type { RequestContext } from './context.js';
import type { Dialect } from './dialects.js';
import { formParameters, queryParameters } from './request.js';

/** Puts the container's services and the parsed parameters on the context for later middlewares. */
export const requestContext = (options: {
  dialect: Dialect;
}): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RequestContext> => ({
  before: async ({ event, context }) => {
    context.dialect = options.dialect;
    context.services = await getServices();
    context.query = queryParameters(event);
    context.form = formParameters(event);
  },
});
