import { type JsonObject, type JsonValue, cloneJson, isJsonObject, jsonEqual, ownValue, setOwn } from './json.js';

/**
 * Twin patch semantics (IoT Hub device-twin docs; iot-sdk-protocol.md §1.5: "The SDK merges the
 * patch locally and treats `null` values as deletions"):
 * - a key with value `null` deletes the property;
 * - an object merges recursively into an object (or into nothing: `null`s inside then vanish);
 * - anything else (string, number, boolean, array) replaces the old value; arrays are atomic;
 * - keys starting with `$` (`$version`, `$metadata`) are system metadata and never merged.
 */
export function applyTwinPatch(target: JsonObject, patch: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const key of Object.keys(target)) {
    setOwn(result, key, target[key] as JsonValue);
  }
  for (const key of Object.keys(patch)) {
    if (key.startsWith('$')) {
      continue;
    }
    const value = patch[key] as JsonValue;
    if (value === null) {
      delete result[key];
    } else if (isJsonObject(value)) {
      const current = ownValue(result, key);
      setOwn(result, key, applyTwinPatch(isJsonObject(current) ? current : {}, value));
    } else {
      setOwn(result, key, cloneJson(value));
    }
  }
  return result;
}

/**
 * The smallest patch that turns `from` into `to` under `applyTwinPatch`: changed and added keys
 * with their new values (objects diffed recursively), removed keys as `null`, unchanged keys
 * absent. `$`-keys are ignored. `to` is a stored document, so it holds no `null` property values.
 * The edge agent uses this to report only what changed (iotedge-semantics.md §2).
 */
export function diffTwinProperties(from: JsonObject, to: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) {
    if (!key.startsWith('$') && !Object.hasOwn(to, key)) {
      setOwn(patch, key, null);
    }
  }
  for (const key of Object.keys(to)) {
    if (key.startsWith('$')) {
      continue;
    }
    const next = to[key] as JsonValue;
    const previous = ownValue(from, key);
    if (previous === undefined) {
      setOwn(patch, key, cloneJson(next));
    } else if (isJsonObject(previous) && isJsonObject(next)) {
      const nested = diffTwinProperties(previous, next);
      if (Object.keys(nested).length > 0) {
        setOwn(patch, key, nested);
      }
    } else if (!jsonEqual(previous, next)) {
      setOwn(patch, key, cloneJson(next));
    }
  }
  return patch;
}

/** True when a patch changes nothing. */
export function isEmptyPatch(patch: JsonObject): boolean {
  return Object.keys(patch).every((key) => key.startsWith('$'));
}
