/**
 * `$body.<path>` queries and `twin_change_includes(<path>)`: the JSON path subset of edgeHub's
 * `JsonPath.g4` (`name[index].name...`), the body decoding rules and the JSON value model.
 */

/** One step of a JSON path: a member name, optionally followed by one array index. */
export interface JsonPathStep {
  readonly name: string;
  readonly index: number | undefined;
}

// IDENTIFIER chars of JsonPath.g4: anything but ()<>@,;:\"/[]?={}. and tab/newlines.
const STEP = /^([^()<>@,;:\\"/[\]?={}.\t\n\r]+)(?:\[([0-9]+)\])?$/;

/** Parses a JSON path, or returns a message saying what is wrong with it. */
export function parseJsonPath(path: string): JsonPathStep[] | string {
  if (path.length === 0) return 'the path is empty';
  const steps: JsonPathStep[] = [];
  for (const part of path.split('.')) {
    const m = STEP.exec(part.trim());
    if (m === null) {
      return `'${path}' is not a supported JSON path (use names and single array indexes: a.b[0].c)`;
    }
    steps.push({ name: m[1] as string, index: m[2] === undefined ? undefined : Number(m[2]) });
  }
  return steps;
}

/** Marker for "the body is not usable JSON" (bad content type, encoding, or JSON). */
export const NO_JSON: unique symbol = Symbol('no-json');

const utf8 = new TextDecoder('utf-8');
const utf16 = new TextDecoder('utf-16le');

/** Decodes the body per `contentEncoding` (utf-8 unless it says utf-16 or utf-32, both little-endian as in .NET). */
export function decodeBody(body: Uint8Array | string, encoding: string | undefined): string {
  if (typeof body === 'string') return body;
  if (encoding === 'utf-16') return utf16.decode(body);
  if (encoding === 'utf-32') return decodeUtf32(body);
  return utf8.decode(body);
}

function decodeUtf32(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const cp = ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24)) >>> 0;
    out += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
  }
  return out.charCodeAt(0) === 0xfeff ? out.slice(1) : out;
}

/** Parses body text as JSON; NO_JSON on any failure. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
  } catch {
    return NO_JSON;
  }
}

/** What `selectPath` returns for a missing path when asked to tell it apart from a JSON null. */
export const MISSING: unique symbol = Symbol('missing');

/** Walks a path. `missing` (default `null`, edgeHub's QueryValue.Null) when any step is missing. */
export function selectPath(root: unknown, steps: readonly JsonPathStep[], missing: null | typeof MISSING = null): unknown {
  let current = root;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as JsonPathStep;
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return missing;
    if (!Object.prototype.hasOwnProperty.call(current, step.name)) return missing;
    current = (current as Record<string, unknown>)[step.name];
    if (step.index !== undefined) {
      if (!Array.isArray(current) || step.index >= current.length) return missing;
      current = current[step.index] as unknown;
    }
  }
  return current;
}

// Newtonsoft.Json (used by edgeHub) turns ISO-8601 and "/Date(...)/" strings into dates, which
// the query layer does not support: such values are Undefined.
const DATE_LIKE = /^(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?|\/Date\(-?\d+(?:[+-]\d{4})?\)\/)$/;

function isDateLike(value: string): boolean {
  const c = value.charCodeAt(0);
  return ((c >= 48 && c <= 57) || c === 47) && DATE_LIKE.test(value);
}

/**
 * Converts a selected JSON value to the query value model: booleans, numbers, strings and null
 * stay; objects, arrays and date strings become `undefined` (Undefined).
 */
export function toQueryValue(value: unknown): boolean | number | string | null | undefined {
  switch (typeof value) {
    case 'boolean':
    case 'number':
      return value;
    case 'string':
      return isDateLike(value) ? undefined : value;
    case 'object':
      return value === null ? null : undefined;
    default:
      return undefined;
  }
}
