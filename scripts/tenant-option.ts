import { InvalidArgumentError } from 'commander';
import { isValidTenant } from '../lambdas/domain/tokens.js';

/** The tenant-name rule, in the words every command and the README use. */
export const TENANT_RULE = 'a tenant name is 3 to 64 characters, each a letter, digit, ".", "_" or "-"';

/**
 * Parses a `--tenant` option: the name, or a commander error that states the rule
 * (`option '--tenant <tenant>' argument 'x' is invalid. a tenant name is 3 to 64 characters, …`).
 */
export const tenantOption = (value: string): string => {
  if (!isValidTenant(value)) throw new InvalidArgumentError(TENANT_RULE);
  return value;
};
