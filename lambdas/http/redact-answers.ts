import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createRedactor, credentialCandidates, type Redactor, redactJson } from '../domain/redaction.js';
import { formParameters, lowerCaseHeaders, queryParameters } from './request.js';

type Values = Record<string, string | undefined>;

/** Every value of a multi-value map, as separate single-value maps (a repeated name keeps all). */
const everyValue = (values: Record<string, string[] | undefined> | null | undefined): Values[] =>
  Object.entries(values ?? {}).flatMap(([name, list]) => (list ?? []).map((value) => ({ [name]: value })));

/**
 * The redactor of one request: credential shapes anywhere, plus the exact credential(s) it carried
 * in any header, query parameter or form field that can hold one, each value of a repeated one
 * included.
 */
export const requestRedactor = (event: APIGatewayProxyEvent): Redactor =>
  createRedactor(
    credentialCandidates(
      lowerCaseHeaders(event),
      ...everyValue(event.multiValueHeaders).map((values) =>
        Object.fromEntries(Object.entries(values).map(([name, value]) => [name.toLowerCase(), value])),
      ),
      queryParameters(event),
      ...everyValue(event.multiValueQueryStringParameters),
      formParameters(event),
    ),
  );

/** An error answer with every credential in its JSON body replaced by "[REDACTED]". */
const redactAnswer = (
  event: APIGatewayProxyEvent,
  response: APIGatewayProxyResult,
): APIGatewayProxyResult => {
  if (response.statusCode < 400 || response.isBase64Encoded || typeof response.body !== 'string')
    return response;
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return response;
  }
  const redactor = requestRedactor(event);
  const redacted = JSON.stringify(redactJson(body, redactor.text));
  return redacted === JSON.stringify(body) ? response : { ...response, body: redacted };
};

/**
 * Error answers never echo a credential: an error message that quotes the caller's input (an
 * unknown time zone, parameter name, job id or path) has every credential in it redacted, with
 * the same rules as the self-audit record (`lambdas/domain/redaction.ts`). Use it just inside
 * `selfAudit()`, so the record holds the answer as sent.
 */
export const redactErrorAnswers = (): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  after: async (request) => {
    if (request.response) request.response = redactAnswer(request.event, request.response);
  },
  onError: async (request) => {
    if (request.response) request.response = redactAnswer(request.event, request.response);
  },
});
