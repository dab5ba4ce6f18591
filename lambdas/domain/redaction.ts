/**
 * Finding credentials in text the service stores or answers (self-audit records, error messages),
 * wherever a caller put them: a parameter's name or value, padded or in another case, inside
 * another value, in the path, or echoed back by an error message. Two complementary rules:
 *
 * 1. **Shapes**: strings that look like a credential of any dialect, anywhere in a text and in any
 *    case: this service's tokens (`ats_…`), JWTs (`eyJ….…`, the kore `auth` header), `Bearer` and
 *    `Basic` credentials, and long random-looking runs (≥ 32 characters of base64/base64url with
 *    upper case, lower case and digits: client secrets, cursor-signing keys, cursors, other
 *    services' keys).
 * 2. **Exact credentials**: the credential(s) the request itself carried (every header, query
 *    parameter or form field that can hold one) and the secrets this process holds (the
 *    cursor-signing key once read), matched case-insensitively wherever they occur, so a token
 *    of any format is caught even when it has no recognisable shape.
 *
 * Texts are also checked percent-decoded, so `%61ts_…` in a path is caught like `ats_…`.
 */

export const REDACTED = '[REDACTED]';

/** Credentials shorter than this are not searched for (they would match ordinary words). */
const MIN_EXACT_LENGTH = 8;

const SHAPES: readonly RegExp[] = [
  // JWT / JWS: base64url of '{"' starts every header; one or two dot-separated segments follow.
  /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_.-]*/gi,
  // This service's tokens: "ats_" and 43 base64url characters (partial ones too).
  /ats_[A-Za-z0-9._~-]{6,}/gi,
  // An HTTP authorization value: the scheme and the credential after it.
  /\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
];

/** Characters a credential of any format is made of. */
const CREDENTIAL_CHAR = /^[A-Za-z0-9._~+/=-]$/;

/** Runs of base64 / base64url characters long enough to hold a random secret. */
const LONG_RUN = /[A-Za-z0-9+/=_~-]{32,}/g;

/** A long run is a secret when it mixes upper case, lower case and digits, as random keys do. */
const looksRandom = (run: string): boolean => /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);

/** Secrets this process holds (the cursor-signing key once read), redacted wherever they appear. */
const processSecrets = new Set<string>();

/**
 * Registers a secret this process holds, in every text form it may take (as given, and for keys
 * the base64, base64url and hex forms), so that no record or answer ever contains it.
 */
export const rememberSecret = (secret: string | Uint8Array): void => {
  const forms =
    typeof secret === 'string'
      ? [secret.trim()]
      : [
          Buffer.from(secret).toString('base64'),
          Buffer.from(secret).toString('base64url'),
          Buffer.from(secret).toString('hex'),
        ];
  for (const form of forms) if (form.length >= MIN_EXACT_LENGTH) processSecrets.add(form);
};

/**
 * Replaces every case-insensitive occurrence of `secret` in `text`, and of any part of it at
 * least 8 characters long that starts it, with the credential characters that follow (an echo
 * clipped to a length keeps a credential's start).
 */
const replaceExact = (text: string, secret: string): string => {
  const lowerText = text.toLowerCase();
  const lowerSecret = secret.toLowerCase();
  const head = lowerSecret.slice(0, MIN_EXACT_LENGTH);
  let result = '';
  let from = 0;
  for (let at = lowerText.indexOf(head); at >= 0; at = lowerText.indexOf(head, from)) {
    let length = head.length;
    while (length < lowerSecret.length && lowerText[at + length] === lowerSecret[length]) length += 1;
    // A partial match (a clipped echo, or another form of the same key) takes the rest of its run.
    if (length < lowerSecret.length) while (CREDENTIAL_CHAR.test(text[at + length] ?? '')) length += 1;
    result += `${text.slice(from, at)}${REDACTED}`;
    from = at + length;
  }
  return result + text.slice(from);
};

/** Percent-decodes what decodes; invalid sequences are left as they are. */
const percentDecoded = (text: string): string => {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (sequence) => {
      try {
        return decodeURIComponent(sequence);
      } catch {
        return sequence;
      }
    });
  }
};

/**
 * A redactor for one request: `credentials` are the exact credential strings the request carried
 * (see {@link credentialCandidates}); the process's own secrets are always included.
 */
export interface Redactor {
  /** `text` with every credential replaced by "[REDACTED]". */
  text(text: string): string;
  /** Whether `text` holds a credential. */
  finds(text: string): boolean;
}

const redactPlain = (text: string, exact: readonly string[]): string => {
  let result = text;
  for (const secret of exact) result = replaceExact(result, secret);
  for (const shape of SHAPES) result = result.replace(shape, REDACTED);
  return result.replace(LONG_RUN, (run) => (looksRandom(run) ? REDACTED : run));
};

/**
 * Builds the redactor of a request that carried `credentials` (any strings; those shorter than 8
 * characters are ignored, as they cannot be told apart from ordinary words).
 *
 * @example
 * createRedactor(['ats_abc…']).text('No purge job ATS_ABC…') // 'No purge job [REDACTED]'
 */
export const createRedactor = (credentials: Iterable<string> = []): Redactor => {
  const exact = [
    ...new Set([...credentials].map((c) => c.trim()).filter((c) => c.length >= MIN_EXACT_LENGTH)),
  ];
  exact.push(...processSecrets);
  // Longest first, so a credential containing another is replaced whole.
  exact.sort((a, b) => b.length - a.length);
  const text = (input: string): string => {
    const plain = redactPlain(input, exact);
    const decoded = percentDecoded(input);
    if (decoded === input) return plain;
    // Encoded in the text: keep the decoded form, redacted, when decoding reveals a credential.
    const redactedDecoded = redactPlain(decoded, exact);
    return redactedDecoded !== decoded ? redactedDecoded : plain;
  };
  return { text, finds: (input) => text(input) !== input };
};

/** Names of headers, parameters and fields that carry credentials, in any case, with any affix. */
export const CREDENTIAL_NAME =
  /(auth|token|secret|passw|pwd|api[-_]?key|^key$|[-_.]key$|jwt|signature|^sig$|credential|session|cookie|x-amz-)/i;

/**
 * The exact credential strings among named values (headers, query parameters, form fields): the
 * value of every credential-named entry, trimmed, and for `Scheme value` forms the value alone.
 */
export const credentialCandidates = (
  ...sources: ReadonlyArray<Readonly<Record<string, string | undefined>>>
): string[] => {
  const found: string[] = [];
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) {
      if (value === undefined || !CREDENTIAL_NAME.test(name)) continue;
      const trimmed = value.trim();
      found.push(trimmed);
      for (const part of trimmed.split(/[\s,;]+/)) found.push(part.replace(/^"|"$/g, ''));
    }
  }
  return found;
};

/** Deep copy of a JSON value with every string (keys included) passed through `redact`. */
export const redactJson = (value: unknown, redact: (text: string) => string): unknown => {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactJson(item, redact));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [redact(key), redactJson(item, redact)]),
    );
  }
  return value;
};
