/** A tenant's data-keeping settings. */
export interface TenantSettings {
  /** Entries older than this many days are purged by the retention scheduler. */
  readonly retentionDays: number;
  /** Whether purged entries are archived to S3 first. */
  readonly archive: boolean;
}

export const DEFAULT_TENANT_SETTINGS: TenantSettings = { retentionDays: 365, archive: true };

/** The registry of tenants and their settings (the control table). */
export interface TenantStore {
  /** Records that a tenant exists (idempotent; keeps its settings). */
  register(tenant: string, now: number): Promise<void>;
  /** The tenant's settings, defaults filled in. */
  settings(tenant: string): Promise<TenantSettings>;
  /** Changes settings (registering the tenant if needed). */
  update(tenant: string, settings: Partial<TenantSettings>, now: number): Promise<void>;
  /** Every registered tenant. */
  list(): Promise<string[]>;
}
