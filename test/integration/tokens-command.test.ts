import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { hashToken } from '../../lambdas/domain/tokens.js';
import { tokensProgram } from '../../scripts/tokens.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/** `npm run tokens`, run against the test service's tables (CONTROL_TABLE is set, as for real AWS). */
describe('Command: tokens', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  const run = async (...args: string[]): Promise<string> => {
    const output: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
    // Commander exits the process on bad arguments; throw instead (set on every sub-command).
    const program = tokensProgram().exitOverride();
    for (const command of program.commands)
      command.exitOverride().configureOutput({ writeErr: () => undefined });
    try {
      await program.parseAsync(['node', 'tokens', ...args]);
    } finally {
      spy.mockRestore();
    }
    return output.join('');
  };

  it('creates a token that works, shows it once, stores only its hash, lists and revokes it', async () => {
    // Act
    const created = await run('create', '--tenant', 'cli-tenant', '--scopes', 'read', '--name', 'SIEM');
    const token = created.trim().split('\n').pop() as string;
    const tokenId = /Created (tok_[0-9a-f]+)/.exec(created)?.[1] as string;
    const fetched = await service.get('/api/v1/audit_trail/fetch', { auth_token: token });
    const listed = await run('list', '--tenant', 'cli-tenant');
    const stored = await service.services.tokens.findTokenByHash(hashToken(token));
    await run('revoke', '--tenant', 'cli-tenant', '--id', tokenId);
    const afterRevoke = await service.get('/api/v1/audit_trail/fetch', { auth_token: token });

    // Assess
    expect(token).toMatch(/^ats_[A-Za-z0-9_-]{43}$/);
    expect(fetched.status).toBe(200);
    expect(listed).toContain(tokenId);
    expect(listed).toContain('SIEM');
    expect(listed).not.toContain(token);
    expect(stored).toMatchObject({ tenant: 'cli-tenant', tokenId, scopes: ['read'] });
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(afterRevoke.status).toBe(401);
  });

  it('creates a token narrowed to one actor with --actor, which reads only that actor’s entries', async () => {
    // Prepare
    await service.services.events.append('cli-narrow', [
      { action_type: 'user_login', user: 'alice@example.com' },
      { action_type: 'user_login', user: 'bob@example.com' },
    ]);

    // Act
    const created = await run(
      'create',
      '--tenant',
      'cli-narrow',
      '--scopes',
      'read',
      '--actor',
      'alice@example.com',
    );
    const token = created.trim().split('\n').pop() as string;
    const fetched = await service.get('/api/v1/audit_trail/fetch', { auth_token: token });
    const listed = await run('list', '--tenant', 'cli-narrow');

    // Assess
    expect(created).toContain('only the entries of actor "alice@example.com"');
    expect(fetched.status).toBe(200);
    expect(
      (fetched.body as { audit_trail: { user: string }[] }).audit_trail.map((entry) => entry.user),
    ).toEqual(['alice@example.com']);
    expect(listed).toContain('actor=alice@example.com');
    await expect(
      run('create', '--tenant', 'cli-narrow', '--scopes', 'read,purge', '--actor', 'alice@example.com'),
    ).rejects.toThrow(/only have the read scope/);
  });

  it('refuses unknown scopes, bad tenant names and unknown token ids', async () => {
    await expect(run('create', '--tenant', 'cli-tenant', '--scopes', 'reed')).rejects.toThrow(
      /Unknown scope/,
    );
    await expect(run('create', '--tenant', 'a', '--scopes', 'read')).rejects.toThrow(
      /a tenant name is 3 to 64 characters/,
    );
    await expect(run('revoke', '--tenant', 'cli-tenant', '--id', 'tok_nope')).rejects.toThrow(
      /has no token tok_nope/,
    );
  });
});
