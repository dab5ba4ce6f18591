import { BadRequestError } from './errors.js';

/** What a token may do. Every token belongs to one tenant and carries one or more scopes. */
export const SCOPES = ['read', 'purge', 'download', 'ingest', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The caller behind a request, as resolved from its credential. */
export interface Principal {
  readonly tenant: string;
  /** The token's (or kore app's) public id: safe to log and record, unlike the credential. */
  readonly tokenId: string;
  readonly tokenName: string;
  readonly scopes: readonly Scope[];
  /**
   * Set when the token is narrowed to one actor (an entry's user, else its API key id): it reads
   * only that actor's entries, selected through the actor index, on the endpoints that support
   * narrowing; every other endpoint refuses it (see `authenticate`).
   */
  readonly actor?: string;
}

/** Parses a comma-separated scope list, rejecting unknown names. */
export const parseScopes = (text: string): Scope[] => {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  const unknown = names.filter((name) => !(SCOPES as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new BadRequestError(`Unknown scope(s): ${unknown.join(', ')}. Known: ${SCOPES.join(', ')}`);
  if (names.length === 0)
    throw new BadRequestError(`At least one scope is needed. Known: ${SCOPES.join(', ')}`);
  return [...new Set(names)] as Scope[];
};

/** `admin` implies every other scope. */
export const hasScope = (principal: Principal, scope: Scope): boolean =>
  principal.scopes.includes(scope) || principal.scopes.includes('admin');

/** Actors a token may be narrowed to: what the actor index keys hold (1–256 characters). */
export const isValidActor = (actor: string): boolean => actor.length >= 1 && actor.length <= 256;
