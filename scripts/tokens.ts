/**
 * `npm run tokens -- <command>`: manage API tokens.
 *
 *   create --tenant T --scopes read,purge,download,ingest,admin [--name N] [--actor USER]
 *                                                   prints the token once; --actor narrows a
 *                                                   read-only token to one user's entries
 *   list   --tenant T
 *   revoke --tenant T --id tok_…
 *
 * Against the running local stack (`npm start`) by default; against real AWS when CONTROL_TABLE
 * is set (with AWS_REGION and credentials from the usual AWS environment/profile).
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command, InvalidArgumentError } from 'commander';
import { createDynamoDbDocumentClient } from '../lambdas/adapters/aws-clients.js';
import { DynamoDbKoreAppStore } from '../lambdas/adapters/dynamodb-kore-app-store.js';
import { DynamoDbTenantStore } from '../lambdas/adapters/dynamodb-tenant-store.js';
import { DynamoDbTokenStore } from '../lambdas/adapters/dynamodb-token-store.js';
import { isAuditTrailError } from '../lambdas/domain/errors.js';
import { isValidActor, parseScopes } from '../lambdas/domain/scopes.js';
import { issueToken } from '../lambdas/use-cases/manage-tokens.js';
import { koreAppCommand } from './kore-apps.js';
import { readLocalEndpoints } from './local-endpoints.js';
import { tenantOption } from './tenant-option.js';

/** The control table of the target deployment: real AWS when CONTROL_TABLE is set, else `npm start`'s. */
export const targetControlTable = (): {
  doc: DynamoDBDocumentClient;
  controlTable: string;
  where: string;
} => {
  const local = process.env.CONTROL_TABLE ? undefined : readLocalEndpoints();
  const env = process.env.CONTROL_TABLE ? process.env : local?.env;
  if (!env?.CONTROL_TABLE) {
    throw new Error(
      'No target: start the local stack with `npm start` (in memory or not) in this folder, or set CONTROL_TABLE (and AWS credentials) for real AWS tables.',
    );
  }
  const doc = createDynamoDbDocumentClient({
    region: env.AWS_REGION ?? 'us-east-1',
    ...(env.DYNAMODB_ENDPOINT ? { dynamoDbEndpoint: env.DYNAMODB_ENDPOINT } : {}),
    ...(env.DYNAMODB_LOCAL_DATABASE ? { dynamoDbDatabase: env.DYNAMODB_LOCAL_DATABASE } : {}),
  });
  const where = env.DYNAMODB_ENDPOINT
    ? `local stack${local?.inMemory ? ' (in memory: gone when it stops)' : ''} (${env.CONTROL_TABLE})`
    : `AWS table ${env.CONTROL_TABLE}`;
  return { doc, controlTable: env.CONTROL_TABLE, where };
};

/** The token store of the target deployment, and its tenant registry (which tokens register in). */
export const targetTokenStore = (): {
  store: DynamoDbTokenStore;
  tenants: DynamoDbTenantStore;
  where: string;
} => {
  const { doc, controlTable, where } = targetControlTable();
  return {
    store: new DynamoDbTokenStore(doc, { controlTable }),
    tenants: new DynamoDbTenantStore(doc, { controlTable }),
    where,
  };
};

const scopesOption = (value: string) => {
  try {
    return parseScopes(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
};

const actorOption = (value: string): string => {
  if (!isValidActor(value)) throw new InvalidArgumentError('1-256 characters');
  return value;
};

/** The `tokens` command line. */
export const tokensProgram = (): Command => {
  const program = new Command('tokens').description('Manage API tokens (only their SHA-256 is stored).');
  program
    .command('create')
    .description('create a token and print it once')
    .requiredOption('--tenant <tenant>', 'the tenant the token belongs to', tenantOption)
    .requiredOption('--scopes <scopes>', 'comma-separated: read,purge,download,ingest,admin', scopesOption)
    .option('--name <name>', 'a label shown in lists and audit entries')
    .option(
      '--actor <user>',
      "narrow the token to one actor's entries (their user, else API key id); read scope only",
      actorOption,
    )
    .action(
      async (options: {
        tenant: string;
        scopes: ReturnType<typeof parseScopes>;
        name?: string;
        actor?: string;
      }) => {
        const { store, tenants, where } = targetTokenStore();
        const { token, record } = await issueToken(
          store,
          {
            tenant: options.tenant,
            scopes: options.scopes,
            ...(options.name ? { name: options.name } : {}),
            ...(options.actor !== undefined ? { actor: options.actor } : {}),
          },
          tenants,
        );
        const narrowed = record.actor !== undefined ? `, only the entries of actor "${record.actor}"` : '';
        process.stdout.write(
          `Created ${record.tokenId} for tenant "${record.tenant}" (${record.scopes.join(',')}${narrowed}) in ${where}.\n` +
            'Token (shown only now; store it safely):\n' +
            `${token}\n`,
        );
      },
    );
  program
    .command('list')
    .description("list a tenant's tokens (ids, names, scopes; never the tokens)")
    .requiredOption('--tenant <tenant>', 'the tenant', tenantOption)
    .action(async (options: { tenant: string }) => {
      const { store } = targetTokenStore();
      const tokens = await store.listTokens(options.tenant);
      if (tokens.length === 0) process.stdout.write(`No tokens for tenant "${options.tenant}".\n`);
      for (const token of tokens) {
        process.stdout.write(
          `${token.tokenId}\t${token.scopes.join(',')}\t${new Date(token.createdAt).toISOString()}\t${token.name}` +
            `${token.actor !== undefined ? `\tactor=${token.actor}` : ''}\n`,
        );
      }
    });
  program
    .command('revoke')
    .description('revoke a token by its id')
    .requiredOption('--tenant <tenant>', 'the tenant', tenantOption)
    .requiredOption('--id <tokenId>', 'the token id (tok_…)')
    .action(async (options: { tenant: string; id: string }) => {
      const { store } = targetTokenStore();
      if (!(await store.revokeToken(options.tenant, options.id))) {
        throw new Error(`Tenant "${options.tenant}" has no token ${options.id}`);
      }
      process.stdout.write(`Revoked ${options.id}.\n`);
    });
  program.addCommand(
    koreAppCommand({
      store: async () => {
        const { doc, controlTable } = targetControlTable();
        return new DynamoDbKoreAppStore(doc, { controlTable });
      },
      tenants: async () => {
        const { doc, controlTable } = targetControlTable();
        return new DynamoDbTenantStore(doc, { controlTable });
      },
    }),
  );
  return program;
};

if (import.meta.url === `file://${process.argv[1]}`) {
  tokensProgram()
    .parseAsync()
    .catch((error: unknown) => {
      process.stderr.write(
        `${isAuditTrailError(error) || error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    });
}
