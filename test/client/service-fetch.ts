import { checkResponse } from '../helpers/openapi-validator.js';

/** One request the client sent, as the service (or storage) answered it. */
export interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly status: number;
}

/**
 * A fetch for the client under test: checks every answer of the service against
 * openapi/openapi.json (as the harness does for its own requests) and records each exchange.
 * `inject` may answer a request itself (a fault) instead of the service.
 */
export const recordingFetch = (
  serviceUrl: string,
  inject?: (request: Request, sent: readonly Exchange[]) => Response | undefined,
) => {
  const sent: Exchange[] = [];
  const fetcher = async (request: Request): Promise<Response> => {
    const injected = inject?.(request, sent);
    const response = injected ?? (await fetch(request));
    sent.push({
      method: request.method,
      url: request.url,
      headers: request.headers,
      status: response.status,
    });
    const url = new URL(request.url);
    if (!injected && url.origin === new URL(serviceUrl).origin) {
      const contentType = response.headers.get('content-type') ?? '';
      const copy = response.clone();
      // A zip is read by the client itself: only JSON bodies are read here.
      const body: unknown = contentType.includes('json') ? JSON.parse(await copy.text()) : '';
      if (!contentType.includes('json')) await copy.body?.cancel();
      const problem = checkResponse(request.method, url.pathname, response.status, contentType, body);
      if (problem) throw new Error(`Response does not match the OpenAPI description: ${problem}`);
    }
    return response;
  };
  return { fetch: fetcher, sent };
};
