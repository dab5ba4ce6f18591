import type { EventDraft } from '../lambdas/domain/record.js';
import { DAY_MS } from '../lambdas/domain/time.js';
import { demoEvents, seededRandom } from '../local/demo-data.js';

const KORE_ACTIONS = [
  ['Bot Published', 'Bot Builder', 'published bot'],
  ['User Role Changed', 'User Management', 'changed the role of'],
  ['App Credentials Created', 'Apps', 'created app credentials for'],
  ['Channel Enabled', 'Channels', 'enabled a channel for'],
  ['User Deactivated', 'User Management', 'deactivated'],
] as const;
const KORE_ADMINS = ['admin@example.com', 'ops@example.com'];
const API_URIS = ['/api/v1/audit-trail', '/api/v1/audit_trail/fetch', '/api/public/auditlogs'];
const API_KEYS = [
  { id: 'tok_seed0000000000a1', name: 'reporting' },
  { id: 'tok_seed0000000000b2', name: 'siem export' },
];

/**
 * `count` mixed events with timestamps in `(to − span, to]` (span in ms, any length), oldest
 * first: 60 % canary console actions, 20 % kore admin actions, 20 % api-key request records.
 * Deterministic for a given seed.
 */
export const mixedEvents = (count: number, span: number, to: number, seed: number): EventDraft[] => {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const canaryCount = Math.round(count * 0.6);
  // demoEvents spreads over whole days; squeeze its day into `span` before `to`.
  const drafts: EventDraft[] = demoEvents({ count: canaryCount, days: 1, now: to, seed }).map((draft) => ({
    ...draft,
    timestamp: to - Math.floor(((to - (draft.timestamp ?? to)) * span) / DAY_MS),
  }));
  for (let n = canaryCount; n < count; n += 1) {
    const timestamp = to - Math.floor(random() * span);
    if (random() < 0.5) {
      const [action, category, verb] = pick(KORE_ACTIONS);
      const admin = pick(KORE_ADMINS);
      drafts.push({
        timestamp,
        action_type: action.toLowerCase().replaceAll(' ', '_'),
        category,
        message: `${admin} ${verb} ${pick(['Support Bot', 'HR Bot', 'bo@example.com'])}`,
        user: admin,
        user_ip: `198.51.100.${1 + Math.floor(random() * 250)}`,
      });
    } else {
      const apiKey = pick(API_KEYS);
      const status = random() < 0.9 ? 200 : pick([400, 401, 404]);
      const uri = pick(API_URIS);
      drafts.push({
        timestamp,
        action_type: 'api_request',
        category: 'Audit trail',
        message: `GET ${uri} ${status}`,
        user_ip: `192.0.2.${1 + Math.floor(random() * 250)}`,
        api_key: apiKey,
        request: {
          uri,
          method: 'GET',
          status,
          query_parameters: { 'page[size]': String(pick([100, 1000, 30000])) },
          ...(status >= 400 ? { error: pick(['Invalid token', 'Bad request', 'Not found']) } : {}),
        },
      });
    }
  }
  return drafts.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
};
