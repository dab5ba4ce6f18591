import type { EventDraft } from '../lambdas/domain/record.js';
import { DAY_MS } from '../lambdas/domain/time.js';

/** A small, fast, seedable PRNG (mulberry32), so demo data is the same on every machine. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const USERS = [
  'ana@example.com',
  'bo@example.com',
  'chen@example.com',
  'dara@example.com',
  'eli@example.com',
];
const AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
];
const LANGUAGES = ['en-US,en;q=0.9', 'en-GB,en-US;q=0.9,en;q=0.8', 'de-DE,de;q=0.9,en;q=0.8'];
const FLOCKS = ['flock:default', 'flock:datacenter', 'flock:branch-offices'];

interface ActionTemplate {
  readonly action: string;
  readonly category: string;
  readonly weight: number;
  readonly message: (user: string, pick: <T>(items: readonly T[]) => T) => string;
  readonly flock?: boolean;
}

/** Console actions with roughly the mix a real console sees: mostly logins. */
const ACTIONS: readonly ActionTemplate[] = [
  { action: 'user_login', category: 'Login/Logout', weight: 30, message: (user) => `User ${user} logged in` },
  {
    action: 'user_logout',
    category: 'Login/Logout',
    weight: 12,
    message: (user) => `User ${user} logged out`,
  },
  {
    action: 'user_login_failed',
    category: 'Login/Logout',
    weight: 4,
    message: (user) => `Failed login attempt for ${user}`,
  },
  {
    action: 'alert_acknowledged',
    category: 'Alerts',
    weight: 14,
    flock: true,
    message: (user, pick) =>
      `User ${user} acknowledged incident ${pick(['SSH login', 'Port scan', 'SMB file open', 'HTTP login'])}`,
  },
  {
    action: 'canarytoken_created',
    category: 'Canarytokens',
    weight: 8,
    flock: true,
    message: (user, pick) =>
      `User ${user} created a ${pick(['AWS API key', 'Word document', 'DNS', 'Web bug'])} Canarytoken`,
  },
  {
    action: 'device_settings_changed',
    category: 'Devices',
    weight: 8,
    flock: true,
    message: (user) => `User ${user} changed device settings`,
  },
  {
    action: 'flock_created',
    category: 'Flocks',
    weight: 2,
    message: (user) => `User ${user} created a flock`,
  },
  {
    action: 'user_added',
    category: 'Users',
    weight: 3,
    message: (user) => `User ${user} invited a new user`,
  },
  {
    action: 'user_password_changed',
    category: 'Users',
    weight: 3,
    message: (user) => `User ${user} changed their password`,
  },
  {
    action: 'api_token_created',
    category: 'API',
    weight: 2,
    message: (user) => `User ${user} created an API token`,
  },
  {
    action: 'incident_deleted',
    category: 'Alerts',
    weight: 4,
    flock: true,
    message: (user) => `User ${user} deleted an incident`,
  },
];
const TOTAL_WEIGHT = ACTIONS.reduce((sum, action) => sum + action.weight, 0);

const pickWeighted = (roll: number): ActionTemplate => {
  let remaining = roll;
  for (const action of ACTIONS) {
    remaining -= action.weight;
    if (remaining < 0) return action;
  }
  return ACTIONS[0] as ActionTemplate;
};

/**
 * `count` realistic console events spread over the `days` days before `now`, oldest first, with
 * explicit timestamps. Deterministic for a given seed.
 */
export const demoEvents = (options: {
  count: number;
  days: number;
  now: number;
  seed?: number;
}): EventDraft[] => {
  const random = seededRandom(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const span = Math.max(1, options.days) * DAY_MS;
  const timestamps = Array.from(
    { length: options.count },
    () => options.now - Math.floor(random() * span),
  ).sort((a, b) => a - b);
  return timestamps.map((timestamp) => {
    const template = pickWeighted(random() * TOTAL_WEIGHT);
    const user = pick(USERS);
    return {
      timestamp,
      action_type: template.action,
      category: template.category,
      message: template.message(user, pick),
      user,
      user_ip: `203.0.113.${1 + Math.floor(random() * 250)}`,
      user_browser_agent: pick(AGENTS),
      user_browser_language: pick(LANGUAGES),
      ...(template.flock ? { flock_id: pick(FLOCKS) } : {}),
    };
  });
};
