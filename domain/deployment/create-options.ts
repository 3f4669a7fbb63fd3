import type { Problems } from './problems.js';
import { isObject, join } from './problems.js';

/** Azure `Docker/Constants.cs`: twin string values hold at most 512 characters; up to 100 chunks. */
export const CREATE_OPTIONS_CHUNK_SIZE = 512;
export const CREATE_OPTIONS_MAX_CHUNKS = 100;
/**
 * The most createOptions text the agent accepts: what Azure's agent can write back into its
 * reported properties (100 chunks of 512 characters). Larger options (5 MB were accepted once)
 * are refused with 400 before anything is parsed.
 */
export const CREATE_OPTIONS_MAX_CHARS = CREATE_OPTIONS_CHUNK_SIZE * CREATE_OPTIONS_MAX_CHUNKS;

function tooLong(length: number | string): string {
  return `createOptions is ${length} characters long; at most ${CREATE_OPTIONS_MAX_CHARS} are allowed (Azure IoT Edge's limit: ${CREATE_OPTIONS_MAX_CHUNKS} chunks createOptions, createOptions01, ... of ${CREATE_OPTIONS_CHUNK_SIZE} characters)`;
}

const CHUNK_KEY = /^createoptions([0-9]*)$/i;

/**
 * Reassembles `createOptions`, `createOptions01`, ... (Azure `JsonEx.ChunkedValue`): keys matched
 * ignoring case, ordered by key, the first without a suffix and chunk n numbered n. Returns the
 * parsed object; `""`, blanks and `"null"` mean `{}`. An object value (not Azure's string form) is
 * accepted as is.
 */
export function readCreateOptions(settings: Record<string, unknown>, path: string, problems: Problems): Record<string, unknown> | undefined {
  const keys = Object.keys(settings)
    .filter((k) => CHUNK_KEY.test(k))
    .sort((a, b) => {
      const x = a.toLowerCase();
      const y = b.toLowerCase();
      return x < y ? -1 : x > y ? 1 : 0;
    });
  if (keys.length === 0) return {};
  if (keys.length > CREATE_OPTIONS_MAX_CHUNKS) {
    problems.add(join(path, 'createOptions'), `createOptions is split into ${keys.length} chunks; at most ${CREATE_OPTIONS_MAX_CHUNKS} are allowed (createOptions, createOptions01, ... createOptions99)`);
    return undefined;
  }
  const first = settings[keys[0] as string];
  if (keys.length === 1 && isObject(first)) {
    const length = JSON.stringify(first).length;
    if (length <= CREATE_OPTIONS_MAX_CHARS) return first;
    problems.add(join(path, 'createOptions'), tooLong(`${length} (as JSON)`));
    return undefined;
  }

  let text = '';
  for (const [index, key] of keys.entries()) {
    const suffix = CHUNK_KEY.exec(key)?.[1] ?? '';
    const expected = index === 0 ? suffix === '' : suffix !== '' && Number.parseInt(suffix, 10) === index;
    if (!expected) {
      problems.add(join(path, key), `error while parsing chunked field createOptions: expected ${index === 0 ? 'createOptions' : `createOptions${String(index).padStart(2, '0')}`} at position ${index}`);
      return undefined;
    }
    const chunk = settings[key];
    if (chunk === null || chunk === undefined) continue;
    if (typeof chunk !== 'string') {
      problems.add(join(path, key), 'createOptions must be a string holding Docker create options as JSON');
      return undefined;
    }
    text += chunk;
  }
  if (text.length > CREATE_OPTIONS_MAX_CHARS) {
    problems.add(join(path, 'createOptions'), tooLong(text.length));
    return undefined;
  }
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'null') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    problems.add(join(path, 'createOptions'), `createOptions is not valid JSON (${(error as Error).message})`);
    return undefined;
  }
  if (parsed === null) return {};
  if (!isObject(parsed)) {
    problems.add(join(path, 'createOptions'), 'createOptions must be a JSON object');
    return undefined;
  }
  return parsed;
}

/**
 * The writer side (reported properties): serialized options split into 512-character chunks under
 * `createOptions`, `createOptions01`, ...; at most 100 chunks, like Azure.
 */
export function writeCreateOptions(options: Record<string, unknown>): Record<string, string> {
  const text = JSON.stringify(options);
  const out: Record<string, string> = {};
  for (let i = 0; i * CREATE_OPTIONS_CHUNK_SIZE < text.length && i < CREATE_OPTIONS_MAX_CHUNKS; i++) {
    const key = i === 0 ? 'createOptions' : `createOptions${String(i).padStart(2, '0')}`;
    out[key] = text.slice(i * CREATE_OPTIONS_CHUNK_SIZE, (i + 1) * CREATE_OPTIONS_CHUNK_SIZE);
  }
  if (text.length === 0) out['createOptions'] = '{}';
  return out;
}
