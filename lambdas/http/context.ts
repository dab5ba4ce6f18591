import type { Context } from 'aws-lambda';
import { InvariantError } from '../domain/errors.js';
import type { Principal } from '../domain/scopes.js';
import type { Services } from '../services.js';
import type { Dialect } from './dialects.js';

/** The Lambda context as our middlewares leave it for handlers. */
export interface RequestContext extends Context {
  services: Services;
  dialect: Dialect;
  /** Set by the authenticate middleware; absent only on endpoints that need no credentials. */
  principal?: Principal;
  /** Query parameters, one value each. */
  query: Record<string, string>;
  /** Form fields of a form-encoded body. */
  form: Record<string, string>;
}

/** The principal of an authenticated request (the middleware guarantees one). */
export const principalOf = (context: RequestContext): Principal => {
  if (!context.principal) throw new InvariantError('authenticate() middleware missing from this handler');
  return context.principal;
};
