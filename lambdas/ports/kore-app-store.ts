import type { Scope } from '../domain/scopes.js';

/**
 * A registered kore app. Unlike API tokens, its client secret is stored as such: verifying an
 * HS256 JWT needs the HMAC key itself, not a hash of it. The control table is encrypted at rest
 * (a customer-managed KMS key in AWS), and the secret is never logged or returned after creation.
 */
export interface KoreAppRecord {
  readonly appId: string;
  readonly tenant: string;
  readonly name: string;
  readonly clientSecret: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: number;
}

/** Tenants' kore apps (the credentials of the kore dialect). */
export interface KoreAppStore {
  /** Stores an app; fails if its id already exists. */
  putApp(app: KoreAppRecord): Promise<void>;
  /** The app with this id, if any. */
  findApp(appId: string): Promise<KoreAppRecord | undefined>;
  /** Every app of a tenant. */
  listApps(tenant: string): Promise<KoreAppRecord[]>;
  /** Removes an app; false when the tenant has no app with this id. */
  revokeApp(tenant: string, appId: string): Promise<boolean>;
}
