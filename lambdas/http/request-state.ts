import type { Principal } from '../domain/scopes.js';
import type { Credential } from '../use-cases/authenticate.js';

/**
 * What the middlewares worked out about one request, kept on middy's `request.internal` so that
 * later ones (self-audit) reuse it instead of working it out again.
 */
export interface RequestState {
  /** The query parameters, one value each (requestContext). */
  query?: Record<string, string>;
  /** The credential found in the dialect's sources (authenticate), when it looked for one. */
  credential?: Credential;
  /** The caller, once resolved (authenticate, or self-audit on endpoints without it). */
  principal?: Principal;
  /** The error message the answer shows (the dialect error mapping, or an endpoint's own error answer). */
  shownError?: string;
}

/** The request's state; middy creates `internal` for every request. */
export const requestState = (request: { internal: unknown }): RequestState =>
  request.internal as RequestState;
