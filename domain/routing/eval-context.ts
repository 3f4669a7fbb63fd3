import { NO_JSON, decodeBody, parseJsonBody } from './body-query.js';

/** The message shape conditions read. */
export interface ConditionMessage {
  body?: Uint8Array | string;
  properties: Record<string, string | null>;
  systemProperties: Record<string, string | null>;
}

const EMPTY: Record<string, string | null> = Object.freeze(Object.create(null) as Record<string, string | null>);
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Case-insensitive property lookup (edgeHub's dictionaries are OrdinalIgnoreCase) without
 * allocating on the common path: an exact hit returns at once; otherwise keys of the same length
 * are compared lower-cased. Missing => `undefined` (Undefined); present with a null value => `null`.
 */
export function getProperty(bag: Record<string, string | null>, name: string, lowerName: string): string | null | undefined {
  const exact = bag[name];
  if (typeof exact === 'string') return exact;
  if (exact === null && hasOwn.call(bag, name)) return null;
  for (const key in bag) {
    if (key.length === lowerName.length && key.toLowerCase() === lowerName && hasOwn.call(bag, key)) {
      const value = bag[key];
      return typeof value === 'string' || value === null ? value : undefined;
    }
  }
  return undefined;
}

const BODY_ENCODINGS = new Set(['utf-8', 'utf-16', 'utf-32']);

/**
 * Per-message evaluation state shared by every condition evaluated on that message: the property
 * bags and the body JSON, parsed at most once.
 */
export class EvalContext {
  props: Record<string, string | null> = EMPTY;
  sys: Record<string, string | null> = EMPTY;
  private body: Uint8Array | string | undefined = undefined;
  /** Parsed body, NO_JSON when unusable, `undefined` when not parsed yet. */
  private json: unknown = undefined;
  private parsed = false;
  /** 0 = not checked, 1 = JSON content type and UTF encoding, 2 = not. */
  private gate = 0;
  busy = false;

  reset(message: ConditionMessage): void {
    const props = message.properties;
    const sys = message.systemProperties;
    this.props = props !== null && typeof props === 'object' ? props : EMPTY;
    this.sys = sys !== null && typeof sys === 'object' ? sys : EMPTY;
    this.body = message.body;
    this.parsed = false;
    this.json = undefined;
    this.gate = 0;
  }

  /** Drops references to the message so it can be collected. */
  clear(): void {
    this.props = EMPTY;
    this.sys = EMPTY;
    this.body = undefined;
    this.json = undefined;
    this.parsed = false;
  }

  /** The body as JSON for `$body` queries: only with contentType application/json and a UTF contentEncoding. */
  bodyJson(): unknown {
    if (this.gate === 0) {
      const type = getProperty(this.sys, 'contentType', 'contenttype');
      const encoding = getProperty(this.sys, 'contentEncoding', 'contentencoding');
      this.gate =
        typeof type === 'string' && type.toLowerCase() === 'application/json' && typeof encoding === 'string' && BODY_ENCODINGS.has(encoding.toLowerCase())
          ? 1
          : 2;
    }
    return this.gate === 1 ? this.anyJson() : NO_JSON;
  }

  /**
   * The body as JSON whatever the content type says (twin change notifications are always JSON;
   * edgeHub does not require producers of those to set the content type).
   */
  anyJson(): unknown {
    if (!this.parsed) {
      this.parsed = true;
      const body = this.body;
      if (body === undefined || body === null || (typeof body !== 'string' && !(body instanceof Uint8Array))) {
        this.json = NO_JSON;
      } else {
        const encoding = getProperty(this.sys, 'contentEncoding', 'contentencoding');
        try {
          this.json = parseJsonBody(decodeBody(body, typeof encoding === 'string' ? encoding.toLowerCase() : undefined));
        } catch {
          this.json = NO_JSON;
        }
      }
    }
    return this.json;
  }
}
