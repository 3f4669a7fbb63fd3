import { type JsonObject, type JsonValue, isJsonObject, utf8Length } from './json.js';

/**
 * Limits on twin property documents. Sources:
 * - edgeHub `Hub.Core/twin/ReportedPropertiesValidator.cs` (constants commented "taken from
 *   IoTHub"): depth 10, property name 1 KB, value 4 KB, integers in [-2^52, 2^52 - 1], 32 KB per
 *   document, names without control characters, whitespace, `.`, `$` or `#`, no `null` in arrays.
 * - IoT Hub device-twin docs: keys "exclude UNICODE control characters (segments C0 and C1), and
 *   `.`, `$`, and SP"; tags 8 KB, desired and reported 32 KB each *(tags limit from the docs, not
 *   from the project references: inferred)*.
 */
export const TWIN_LIMITS = Object.freeze({
  maxDepth: 10,
  maxPropertyNameBytes: 1024,
  maxStringValueBytes: 4096,
  maxSafeInteger: 4503599627370495,
  minSafeInteger: -4503599627370496,
  maxPropertiesBytes: 32 * 1024,
  maxTagsBytes: 8 * 1024,
});

export type TwinValidationErrorCode =
  | 'not-an-object'
  | 'invalid-name'
  | 'name-too-long'
  | 'too-deep'
  | 'value-too-long'
  | 'integer-out-of-range'
  | 'null-in-array'
  | 'invalid-value'
  | 'too-large';

/** A twin patch or document breaks an IoT Hub rule; `path` is the dotted property path. */
export class TwinValidationError extends Error {
  constructor(
    readonly code: TwinValidationErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'TwinValidationError';
  }
}

// C0, DEL, C1 controls; any whitespace; and the reserved `.`, `$`, `#` (`#` stands for `$` in IoT Hub's storage).
const INVALID_NAME_CHAR = /[\u0000-\u001f\u007f-\u009f\s.$#]/u;

function shownPath(path: string): string {
  return path.length > 120 ? `${path.slice(0, 120)}…` : path;
}

function validateName(name: string, path: string): void {
  if (utf8Length(name) > TWIN_LIMITS.maxPropertyNameBytes) {
    throw new TwinValidationError('name-too-long', path, `property name at ${shownPath(path)} is longer than ${TWIN_LIMITS.maxPropertyNameBytes} bytes`);
  }
  const bad = INVALID_NAME_CHAR.exec(name);
  if (name.length === 0 || bad !== null) {
    const what = bad === null ? 'is empty' : `contains the character U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new TwinValidationError('invalid-name', path, `property name at ${shownPath(path)} ${what}; names may not contain control characters, whitespace, ".", "$" or "#"`);
  }
}

/** edgeHub's `ValidateArrayContent`: no `null` element in any array, however nested. Array contents are otherwise not checked. */
function validateArray(values: JsonValue[], path: string): void {
  for (const [i, item] of values.entries()) {
    if (item === null) {
      throw new TwinValidationError('null-in-array', `${path}[${i}]`, `arrays cannot contain null (at ${shownPath(path)}[${i}])`);
    }
    checkNestedArrays(item, `${path}[${i}]`);
  }
}

function checkNestedArrays(value: JsonValue, path: string): void {
  if (Array.isArray(value)) {
    validateArray(value, path);
  } else if (isJsonObject(value)) {
    for (const key of Object.keys(value)) {
      checkNestedArrays(value[key] as JsonValue, `${path}.${key}`);
    }
  }
}

function validateValue(value: unknown, path: string, depth: number): void {
  if (value === null || typeof value === 'boolean') {
    return;
  }
  if (typeof value === 'string') {
    if (utf8Length(value) > TWIN_LIMITS.maxStringValueBytes) {
      throw new TwinValidationError('value-too-long', path, `value at ${shownPath(path)} is longer than ${TWIN_LIMITS.maxStringValueBytes} bytes`);
    }
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new TwinValidationError('invalid-value', path, `value at ${shownPath(path)} is not a finite number`);
    }
    if (Number.isInteger(value) && (value > TWIN_LIMITS.maxSafeInteger || value < TWIN_LIMITS.minSafeInteger)) {
      throw new TwinValidationError('integer-out-of-range', path, `integer at ${shownPath(path)} is outside [${TWIN_LIMITS.minSafeInteger}, ${TWIN_LIMITS.maxSafeInteger}]`);
    }
    return;
  }
  if (Array.isArray(value)) {
    validateArray(value as JsonValue[], path);
    return;
  }
  if (isJsonObject(value)) {
    // edgeHub: an object value at depth > 10 is rejected; its properties are at depth + 1.
    if (depth > TWIN_LIMITS.maxDepth) {
      throw new TwinValidationError('too-deep', path, `object at ${shownPath(path)} is nested deeper than ${TWIN_LIMITS.maxDepth} levels`);
    }
    validateProperties(value, path, depth + 1);
    return;
  }
  throw new TwinValidationError('invalid-value', path, `value at ${shownPath(path)} is not JSON`);
}

function validateProperties(object: JsonObject, prefix: string, depth: number): void {
  for (const key of Object.keys(object)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    validateName(key, path);
    validateValue(object[key], path, depth);
  }
}

/** Serialized size in UTF-8 bytes, as IoT Hub and edgeHub measure it (compact JSON). */
export function jsonSizeBytes(value: JsonValue): number {
  return utf8Length(JSON.stringify(value));
}

/**
 * Validates a reported-properties patch (or a desired patch from a local deployment) the way
 * edgeHub's `ReportedPropertiesValidator` does. `null` values are allowed (they delete). Returns
 * the patch typed as a JSON object. Throws `TwinValidationError` only.
 */
export function validateTwinPatch(patch: unknown, maxBytes: number = TWIN_LIMITS.maxPropertiesBytes): JsonObject {
  if (!isJsonObject(patch)) {
    throw new TwinValidationError('not-an-object', '', 'a twin patch must be a JSON object');
  }
  validateProperties(patch, '', 1);
  const size = jsonSizeBytes(patch);
  if (size > maxBytes) {
    throw new TwinValidationError('too-large', '', `twin properties are ${size} bytes; the limit is ${maxBytes}`);
  }
  return patch;
}
