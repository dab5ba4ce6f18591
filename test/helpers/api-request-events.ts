import type { EventDraft } from '../../lambdas/domain/record.js';
import { seededRandom } from '../../local/demo-data.js';

const KEYS = [
  { id: 'tok_5e94d5b63f557b00', name: 'API Token' },
  { id: 'tok_1a2b3c4d5e6f7a8b', name: 'Reporting' },
];
const URIS = [
  '/api/v1/reconciliations',
  '/api/v1/audit-trail',
  '/api/v1/payments',
  '/api/v1/audit_trail/fetch',
];

/** `count` api-request entries (the api-key dialect's own kind) spread over `days` days before `now`. */
export const apiRequestEvents = (options: {
  count: number;
  days: number;
  now: number;
  seed?: number;
}): EventDraft[] => {
  const random = seededRandom(options.seed ?? 3);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from(
    { length: options.count },
    () => options.now - Math.floor(random() * options.days * 86_400_000),
  )
    .sort((a, b) => a - b)
    .map((timestamp) => {
      const status = pick([200, 200, 200, 400, 404]);
      return {
        timestamp,
        action_type: 'api_request',
        category: 'Reconciliations',
        user_ip: `198.51.100.${1 + Math.floor(random() * 250)}`,
        api_key: pick(KEYS),
        request: {
          uri: pick(URIS),
          method: pick(['GET', 'GET', 'POST']),
          status,
          query_parameters: { 'page[size]': String(1 + Math.floor(random() * 500)) },
          ...(status >= 400 ? { error: 'Error message' } : {}),
        },
      };
    });
};

export const API_KEYS = KEYS;
