/**
 * Secret scrubbing for log output. Two layers work together (see docs/logging.md):
 *
 * 1. by field name: values under names such as `password`, `primaryKey` or `sasToken` are replaced
 *    whole, at any depth ({@link scrubValue}, and pino `redact` paths in the logger);
 * 2. by shape: secrets embedded in free text — SAS tokens, `sig=` parameters, connection-string keys,
 *    `password=`, URL passwords, bearer tokens, PEM private keys — are cut out of every string,
 *    including the message and error stacks ({@link redactSecrets}).
 *
 * Pure functions: no I/O, no state; safe to call on any input.
 */

export const REDACTED = '[REDACTED]';

/**
 * Field names whose values are always secret, compared case-insensitively with `_`/`-` removed
 * (so `primary_key`, `PrimaryKey` and `primaryKey` all match).
 */
export const SECRET_FIELD_NAMES: readonly string[] = [
  'key',
  'primaryKey',
  'secondaryKey',
  'sharedAccessKey',
  'accountKey',
  'privateKey',
  'apiKey',
  'password',
  'passwd',
  'pwd',
  'secret',
  'clientSecret',
  'sasToken',
  'token',
  'accessToken',
  'refreshToken',
  'connectionString',
  'authorization',
  'sig',
];

const normalizeName = (name: string): string => name.replace(/[-_]/g, '').toLowerCase();
const SECRET_FIELDS = new Set(SECRET_FIELD_NAMES.map(normalizeName));

/** True when a field of this name holds a secret and must never be logged. */
export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELDS.has(normalizeName(name));
}

// Characters that end a secret value in text: whitespace, quotes, separators of query strings and
// connection strings, and brackets. Excluding `"` and `\` keeps JSON text intact when scrubbed.
// An already-redacted part counts as part of the value, so a value is replaced once, as a whole.
const VALUE = String.raw`(?:[^\s"'\\;&,<>()\[\]{}]|\[REDACTED\])+`;

// Names whose value is secret in `name=value` and `name: value` forms.
const STRONG_NAMES = String.raw`password|passwd|pwd|secret|client_?secret|shared_?access_?key|account_?key|primary_?key|secondary_?key|sas_?token|api_?key|access_?token|refresh_?token`;
// Names too common in prose for the `name: value` form; redacted in the `name=value` form only.
const WEAK_NAMES = String.raw`key|token|sig|signature`;

interface Rule {
  pattern: RegExp;
  replace: string;
}

/** Order matters: whole tokens first, then their parts. */
const RULES: readonly Rule[] = [
  // PEM private keys (any algorithm, possibly encrypted).
  {
    pattern: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    replace: `-----BEGIN $1PRIVATE KEY-----${REDACTED}-----END $1PRIVATE KEY-----`,
  },
  // A whole SAS token: `SharedAccessSignature sr=...&sig=...&se=...&skn=...`.
  { pattern: /SharedAccessSignature(\s+|%20|\+)[^\s"'\\;,<>]+/gi, replace: `SharedAccessSignature ${REDACTED}` },
  // `sig=` query parameter, plain or URL-encoded (`sig%3D...` up to `%26`).
  { pattern: /(?<![A-Za-z])sig%3D(?:(?!%26)[^\s"'\\;&,<>])+/gi, replace: `sig%3D${REDACTED}` },
  // URL userinfo password: scheme://user:secret@host
  { pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'\\]*):[^\s/?#@"'\\]+@/gi, replace: `$1:${REDACTED}@` },
  // Strong names: `name=value`, `name: value`, `"name":"value"`.
  {
    pattern: new RegExp(String.raw`\b(${STRONG_NAMES})("?\s*[=:]\s*"?)(?!\[REDACTED\])${VALUE}`, 'gi'),
    replace: `$1$2${REDACTED}`,
  },
  // Weak names: `name=value` only (query strings, connection strings).
  {
    pattern: new RegExp(String.raw`\b(${WEAK_NAMES})=(?!\[REDACTED\])${VALUE}`, 'gi'),
    replace: `$1=${REDACTED}`,
  },
  // Bearer tokens in Authorization headers.
  { pattern: /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/g, replace: `Bearer ${REDACTED}` },
];

// Cheap pre-check so ordinary log text skips the rules entirely.
const MAYBE_SECRET = /sig|shared|key|pass|pwd|secret|token|:\/\/|bearer|private/i;

/**
 * Replaces every secret this module knows the shape of in `text` with `[REDACTED]`: SAS tokens,
 * `sig=` parameters, connection-string keys (`SharedAccessKey=...`), `password=...`, URL passwords
 * (`postgres://user:secret@host`), bearer tokens and PEM private keys. Other text is unchanged.
 */
export function redactSecrets(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  let out = text;
  for (const rule of RULES) out = out.replace(rule.pattern, rule.replace);
  return out;
}

/** A plain, JSON-friendly copy of an error: type, message, stack, own fields and cause, scrubbed. */
export function serializeError(error: Error, depth = 0, seen = new WeakSet<object>()): Record<string, unknown> {
  seen.add(error);
  try {
    return serializeErrorFields(error, depth, seen);
  } finally {
    seen.delete(error);
  }
}

function serializeErrorFields(error: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.constructor?.name ?? error.name,
    message: redactSecrets(String(error.message)),
  };
  if (typeof error.stack === 'string') out['stack'] = redactSecrets(error.stack);
  for (const [name, value] of Object.entries(error)) {
    if (name === 'message' || name === 'stack') continue;
    out[name] = scrubField(name, value, depth + 1, seen);
  }
  if (error.cause !== undefined && !('cause' in out)) out['cause'] = scrubField('cause', error.cause, depth + 1, seen);
  if (error instanceof AggregateError && !('errors' in out)) out['errors'] = scrubValue(error.errors, depth + 1, seen);
  return out;
}

const MAX_DEPTH = 10;

function scrubField(name: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (isSecretFieldName(name) && value !== undefined && value !== null && value !== '') return REDACTED;
  return scrubValue(value, depth, seen);
}

/**
 * A deep copy of `value` safe to log: values of secret field names replaced, every string passed
 * through {@link redactSecrets}, errors turned into plain objects (with scrubbed message and stack),
 * buffers summarized (never dumped: they may hold key bytes), cycles and excessive depth cut.
 */
export function scrubValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  switch (typeof value) {
    case 'string':
      return redactSecrets(value);
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return value;
    case 'symbol':
      return value.toString();
    case 'function':
      return undefined;
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Too deep]';
  if (object instanceof Error) return serializeError(object, depth, seen);
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
    return `[${object.constructor.name} ${object.byteLength} bytes]`;
  }
  seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((item) => scrubValue(item, depth + 1, seen));
    if (object instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of object) out[String(k)] = scrubField(String(k), v, depth + 1, seen);
      return out;
    }
    if (object instanceof Set) return [...object].map((item) => scrubValue(item, depth + 1, seen));
    const source = object as Record<string, unknown>;
    if (typeof source['toJSON'] === 'function') {
      return scrubValue((source['toJSON'] as () => unknown).call(object), depth + 1, seen);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(source)) out[k] = scrubField(k, v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(object);
  }
}

/** {@link scrubValue} for a record of log fields (top-level names are checked too). */
export function scrubFields(fields: Record<string, unknown>): Record<string, unknown> {
  const seen = new WeakSet<object>();
  seen.add(fields);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = scrubField(k, v, 1, seen);
  return out;
}
