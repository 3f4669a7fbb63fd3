/**
 * The JSON Canonicalization Scheme (RFC 8785, "JCS"): the one text of a JSON value that signers
 * and verifiers agree on. Azure IoT Edge signs deployments over JCS text (webpki's
 * JsonCanonicalizer). Pure: object keys sorted by UTF-16 code units, no whitespace, numbers as
 * ECMAScript writes them (RFC 8785 3.2.2.3 is defined by `Number.prototype.toString`), strings
 * with the minimal JSON escapes (which is what `JSON.stringify` emits for well-formed text).
 */

/** A value JCS cannot represent: a non-finite number, a lone surrogate, a non-JSON value. */
export class CanonicalizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalizationError';
  }
}

/** Unpaired surrogates are not I-JSON (RFC 7493), which JCS requires. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function canonicalString(text: string): string {
  if (LONE_SURROGATE.test(text)) throw new CanonicalizationError('a string holds an unpaired surrogate (not I-JSON)');
  return JSON.stringify(text);
}

function canonicalNumber(value: number): string {
  if (!Number.isFinite(value)) throw new CanonicalizationError(`${value} is not a JSON number`);
  // ECMAScript's shortest round-trip form; -0 is "0" (RFC 8785 3.2.2.3).
  return Object.is(value, -0) ? '0' : String(value);
}

/** Code-unit order, as RFC 8785 3.2.3 sorts property names (not locale, not code points). */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The RFC 8785 canonical text of a JSON value (as `JSON.parse` returns them). */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return canonicalNumber(value);
    case 'string':
      return canonicalString(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalize(item)).join(',')}]`;
      const entries = Object.keys(value as Record<string, unknown>).sort(compareUtf16);
      return `{${entries.map((key) => `${canonicalString(key)}:${canonicalize((value as Record<string, unknown>)[key])}`).join(',')}}`;
    }
    default:
      throw new CanonicalizationError(`a ${typeof value} is not a JSON value`);
  }
}
