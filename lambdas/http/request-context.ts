import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { RequestContext } from './context.js';
import type { Dialect } from './dialects.js';
import { formParameters, queryParameters } from './request.js';
import { requestState } from './request-state.js';

/** Puts the dialect and the parsed parameters on the context for later middlewares and the handler. */
export const requestContext = (options: {
  dialect: Dialect;
}): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RequestContext> => ({
  before: async (request) => {
    const { event, context } = request;
    context.dialect = options.dialect;
    context.query = queryParameters(event);
    context.form = formParameters(event);
    requestState(request).query = context.query;
  },
});
