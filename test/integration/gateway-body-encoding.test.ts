import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BINARY_MEDIA_TYPES, isBinaryMediaType } from '../../lambdas/routes.js';
import { proxyBody, startGateway } from '../../local/gateway.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { checkResponse } from '../helpers/openapi-validator.js';
import { allEntries } from '../helpers/purge-fixtures.js';

/**
 * Request bodies reach the handlers as API Gateway hands them over. The deployed API declares
 * `*\/*` binary (BINARY_MEDIA_TYPES, shared by the CDK construct and the local gateway), so every
 * body arrives base64-encoded; a gateway declaring nothing binary passes bodies as text. The real
 * handlers must read both the same.
 */

const EVENTS = '/api/v1/audit_trail/events';
const PURGE = '/api/v1/audit_trail/purge';
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

describe('proxyBody: the body of the proxy event', () => {
  it('base64-encodes every body under the API’s binary media types (*/*), whatever its type', () => {
    // Prepare
    const text = '{"events":[{"action_type":"café ☕"}]}';
    // Act
    const bodies = [JSON_TYPE, `${FORM_TYPE}; charset=utf-8`, 'text/plain', undefined].map((type) =>
      proxyBody(Buffer.from(text), type),
    );
    // Assess
    expect(BINARY_MEDIA_TYPES).toContain('*/*');
    for (const body of bodies) {
      expect(body.isBase64Encoded).toBe(true);
      expect(Buffer.from(body.body ?? '', 'base64').toString('utf8')).toBe(text);
    }
  });

  it('passes text as text when its type is not binary, and an empty body as null', () => {
    // Act
    const plain = proxyBody(Buffer.from('id=5'), FORM_TYPE, []);
    const zipOnly = proxyBody(Buffer.from('{}'), JSON_TYPE, ['application/zip']);
    const zip = proxyBody(Buffer.from([0x50, 0x4b, 0xff]), 'application/zip', ['application/zip']);
    const empty = proxyBody(Buffer.alloc(0), JSON_TYPE);
    // Assess
    expect(plain).toEqual({ body: 'id=5', isBase64Encoded: false });
    expect(zipOnly).toEqual({ body: '{}', isBase64Encoded: false });
    expect(zip).toEqual({ body: Buffer.from([0x50, 0x4b, 0xff]).toString('base64'), isBase64Encoded: true });
    expect(empty).toEqual({ body: null, isBase64Encoded: false });
  });

  it('matches media types as API Gateway does: parameters and case ignored, type/* for subtypes', () => {
    // Assess
    expect(isBinaryMediaType('Application/ZIP; q=1', ['application/zip'])).toBe(true);
    expect(isBinaryMediaType('image/png', ['image/*'])).toBe(true);
    expect(isBinaryMediaType('application/json', ['image/*', 'application/zip'])).toBe(false);
    expect(isBinaryMediaType(undefined, ['application/zip'])).toBe(false);
    expect(isBinaryMediaType(undefined, ['*/*'])).toBe(true);
  });
});

describe('handlers read bodies in both encodings', () => {
  let service: TestService;
  let plain: { server: Server; url: string };
  let gateways: ReadonlyArray<readonly [string, string]>;

  beforeAll(async () => {
    service = await startTestService();
    // The same handlers and tables, behind a gateway that declares no binary media type.
    plain = await startGateway(0, { binaryMediaTypes: [] });
    gateways = [
      ['base64 (as deployed)', service.url],
      ['plain text', plain.url],
    ];
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      plain.server.closeAllConnections();
      plain.server.close(() => resolve());
    });
    await service.stop();
  });

  const send = async (url: string, path: string, headers: Record<string, string>, body: string) => {
    const response = await fetch(new URL(path, url), { method: 'POST', headers, body });
    const contentType = response.headers.get('content-type') ?? '';
    const json: unknown = await response.json();
    const problem = checkResponse('POST', path, response.status, contentType, json, response.headers);
    if (problem) throw new Error(`Response does not match the OpenAPI description: ${problem}`);
    return { status: response.status, body: json };
  };

  it('stores an ingested JSON event, non-ASCII text intact, whichever way the body arrives', async () => {
    for (const [name, url] of gateways) {
      // Prepare
      const tenant = `enc-${name.split(' ')[0]}`;
      const token = await service.token(tenant, ['ingest']);
      const event = { action_type: 'note.saved', message: `Grüße, ${name} ☕` };
      // Act
      const response = await send(
        url,
        EVENTS,
        { 'content-type': JSON_TYPE, 'x-api-key': token },
        JSON.stringify({ events: [event] }),
      );
      // Assess
      expect({ name, status: response.status }).toEqual({ name, status: 201 });
      const stored = (await allEntries(service.services, tenant)).filter(
        (entry) => entry.action_type === 'note.saved',
      );
      expect(stored.map((entry) => entry.message)).toEqual([event.message]);
    }
  });

  it('purges through the id of a form body, whichever way the body arrives', async () => {
    for (const [name, url] of gateways) {
      // Prepare
      const tenant = `purge-${name.split(' ')[0]}`;
      const ingest = await service.token(tenant, ['ingest']);
      const purge = await service.token(tenant, ['purge']);
      const added = await send(
        url,
        EVENTS,
        { 'content-type': JSON_TYPE, 'x-api-key': ingest },
        JSON.stringify({ events: [{ action_type: 'a' }, { action_type: 'b' }, { action_type: 'c' }] }),
      );
      const ids = (added.body as { ids: number[] }).ids;
      const through = ids[1] ?? -1;
      // Act
      const response = await send(
        url,
        PURGE,
        { 'content-type': FORM_TYPE },
        new URLSearchParams({ auth_token: purge, id: String(through) }).toString(),
      );
      // Assess
      expect({ name, status: response.status }).toEqual({ name, status: 200 });
      const left = (await allEntries(service.services, tenant)).map((entry) => entry.action_type);
      expect(left).not.toContain('a');
      expect(left).not.toContain('b');
      expect(left).toContain('c');
    }
  });
});
