import { type JsonObject, type JsonValue, cloneJson, isJsonObject, setOwn } from './json.js';
import { TWIN_LIMITS, TwinValidationError, jsonSizeBytes, validateTwinPatch } from './twin-limits.js';
import { applyTwinPatch, diffTwinProperties } from './twin-patch.js';

/**
 * A twin as the hub keeps it. Each section carries its own `$version`, as in the GET response body
 * the SDKs require: `{"desired":{…,"$version":n},"reported":{…,"$version":m}}`
 * (iot-sdk-protocol.md §1.5). Tags exist only on the service side; devices never see them.
 */
export interface TwinSection {
  readonly $version: number;
  readonly properties: JsonObject;
}

export interface TwinDocument {
  readonly desired: TwinSection;
  readonly reported: TwinSection;
  readonly tags?: JsonObject;
}

/**
 * A new identity's twin. IoT Hub starts both sections at `$version` 1 *(inferred from observed
 * twins; the references do not state it)*.
 */
export function emptyTwin(): TwinDocument {
  return { desired: { $version: 1, properties: {} }, reported: { $version: 1, properties: {} } };
}

function sectionWire(section: TwinSection): JsonObject {
  const out = cloneJson(section.properties);
  setOwn(out, '$version', section.$version);
  return out;
}

/** The body of a twin GET response (MQTT `$iothub/twin/res/200`, AMQP twin GET). */
export function twinResponseBody(twin: TwinDocument): JsonObject {
  return { desired: sectionWire(twin.desired), reported: sectionWire(twin.reported) };
}

/** Reads a twin from its GET body (for example one fetched from IoT Hub). Throws `TwinValidationError`. */
export function twinFromResponseBody(body: unknown): TwinDocument {
  if (!isJsonObject(body) || !isJsonObject(body['desired']) || !isJsonObject(body['reported'])) {
    throw new TwinValidationError('not-an-object', '', 'a twin must have "desired" and "reported" objects');
  }
  const section = (wire: JsonObject, name: string): TwinSection => {
    const version = wire['$version'];
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
      throw new TwinValidationError('invalid-value', `${name}.$version`, `${name}.$version must be a non-negative integer`);
    }
    const properties: JsonObject = {};
    for (const key of Object.keys(wire)) {
      if (!key.startsWith('$')) {
        setOwn(properties, key, cloneJson(wire[key] as JsonValue));
      }
    }
    return { $version: version, properties };
  };
  return { desired: section(body['desired'], 'desired'), reported: section(body['reported'], 'reported') };
}

export interface ReportedUpdate {
  readonly twin: TwinDocument;
  /** The validated patch as applied (the content of the twin-change notification). */
  readonly patch: JsonObject;
  /** The new reported `$version` (the MQTT 204 response carries it as `$version`). */
  readonly version: number;
}

/**
 * Applies a client's reported-properties patch: validate (edgeHub's ReportedPropertiesValidator),
 * merge with `null` deletes, check the resulting section still fits in 32 KB, and increment the
 * reported `$version` by one. Every accepted patch increments the version, also one that changes
 * nothing *(inferred: IoT Hub counts updates, not changes)*. Throws `TwinValidationError`.
 */
export function applyReportedPatch(twin: TwinDocument, patch: unknown): ReportedUpdate {
  const valid = validateTwinPatch(patch);
  const properties = applyTwinPatch(twin.reported.properties, valid);
  const size = jsonSizeBytes(properties);
  if (size > TWIN_LIMITS.maxPropertiesBytes) {
    throw new TwinValidationError('too-large', '', `reported properties would be ${size} bytes; the limit is ${TWIN_LIMITS.maxPropertiesBytes}`);
  }
  const version = twin.reported.$version + 1;
  return { twin: { ...twin, reported: { $version: version, properties } }, patch: valid, version };
}

export type DesiredUpdate =
  | {
      readonly applied: true;
      readonly twin: TwinDocument;
      readonly patch: JsonObject;
      readonly version: number;
      /** The patch's `$version` skips versions: a patch was missed, fetch the full twin to resync. */
      readonly gap: boolean;
    }
  | { readonly applied: false; readonly reason: 'stale-version'; readonly twin: TwinDocument };

/**
 * Applies a desired-properties patch. From IoT Hub the patch carries the new `$version`, which the
 * section takes; a patch whose `$version` is not newer than ours is stale (already applied, or
 * overtaken by a full twin fetch) and is ignored. Without `$version` (a local deployment), the
 * version increments by one. The patch sent to clients carries the `$version`
 * (`$iothub/twin/PATCH/properties/desired/?$version=n`, body including `$version`, iot-sdk-protocol §1.5).
 */
export function applyDesiredPatch(twin: TwinDocument, patch: unknown): DesiredUpdate {
  if (!isJsonObject(patch)) {
    throw new TwinValidationError('not-an-object', '', 'a twin patch must be a JSON object');
  }
  const { $version: given, ...rest } = patch;
  if (given !== undefined && (typeof given !== 'number' || !Number.isInteger(given) || given < 0)) {
    throw new TwinValidationError('invalid-value', '$version', '$version must be a non-negative integer');
  }
  if (given !== undefined && given <= twin.desired.$version) {
    return { applied: false, reason: 'stale-version', twin };
  }
  const valid = validateTwinPatch(rest);
  const version = given ?? twin.desired.$version + 1;
  const properties = applyTwinPatch(twin.desired.properties, valid);
  const outgoing = cloneJson(valid);
  setOwn(outgoing, '$version', version);
  const gap = given !== undefined && given > twin.desired.$version + 1;
  return { applied: true, twin: { ...twin, desired: { $version: version, properties } }, patch: outgoing, version, gap };
}

/**
 * Replaces the desired section (a full twin fetched from IoT Hub after a reconnect) and returns
 * the patch a connected client needs to catch up, or `undefined` when nothing changed.
 */
export function replaceDesired(twin: TwinDocument, desired: TwinSection): { twin: TwinDocument; patch?: JsonObject } {
  const diff = diffTwinProperties(twin.desired.properties, desired.properties);
  const next: TwinDocument = { ...twin, desired: { $version: desired.$version, properties: cloneJson(desired.properties) } };
  if (Object.keys(diff).length === 0 && desired.$version === twin.desired.$version) {
    return { twin: next };
  }
  setOwn(diff, '$version', desired.$version);
  return { twin: next, patch: diff };
}
