import type { ManifestProblem } from './deployment-status.js';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** An enum spelling folded for comparison: case, `-`, `_` and blanks do not matter. */
export function spellingKey(text: string): string {
  return text.trim().toLowerCase().replace(/[-_\s]/g, '');
}

/** Collects problems while a validator walks a document; validators keep going after a problem. */
export class Problems {
  readonly list: ManifestProblem[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /**
   * Azure-style enum read, widened to the 2017 preview's spellings: the spelling is matched
   * ignoring case, hyphens and underscores (`on-failure`, `onFailure`, `OnFailure`, `ON_FAILURE`),
   * then against `aliases` (keys in that folded form); integers give the n-th value.
   */
  enumValue<T extends string>(path: string, value: unknown, allowed: readonly T[], fallback: T | undefined, aliases: Readonly<Record<string, T>> = {}): T | undefined {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value === 'string') {
      const key = spellingKey(value);
      const match = allowed.find((a) => spellingKey(a) === key) ?? (Object.hasOwn(aliases, key) ? aliases[key] : undefined);
      if (match !== undefined) return match;
    }
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < allowed.length) return allowed[value];
    this.add(path, `expected one of ${allowed.map((a) => `"${a}"`).join(', ')} (got ${describe(value)})`);
    return undefined;
  }

  /** A required non-blank string. */
  text(path: string, value: unknown, what = 'a non-empty string'): string | undefined {
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.add(path, `expected ${what} (got ${describe(value)})`);
    return undefined;
  }

  /** An optional string; numbers and booleans are accepted as their text, like Newtonsoft does. */
  optionalText(path: string, value: unknown, fallback: string): string | undefined {
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    this.add(path, `expected a string (got ${describe(value)})`);
    return undefined;
  }

  /** An unsigned 32-bit integer. */
  uint(path: string, value: unknown, fallback: number, max = 4294967295): number | undefined {
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max) return value;
    this.add(path, `expected an integer from 0 to ${max} (got ${describe(value)})`);
    return undefined;
  }

  object(path: string, value: unknown, required: boolean): JsonObject | undefined {
    if (isObject(value)) return value;
    if (!required && (value === undefined || value === null)) return undefined;
    this.add(path, `expected an object (got ${describe(value)})`);
    return undefined;
  }
}
