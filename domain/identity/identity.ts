/**
 * Who a client is: an IoT Hub device, or a module of a device. The string forms are the ones the
 * SDKs put in the MQTT clientId (`dev`, `dev/mod`; iot-sdk-protocol.md §1.1) and edgeHub uses as
 * identity ids (iotedge-semantics.md §7.1).
 */
export interface DeviceIdentity {
  readonly kind: 'device';
  readonly deviceId: string;
}

export interface ModuleIdentity {
  readonly kind: 'module';
  readonly deviceId: string;
  readonly moduleId: string;
}

export type Identity = DeviceIdentity | ModuleIdentity;

/** IoT Hub limit for device and module ids (identity registry docs: "up to 128 characters long"). */
export const MAX_IDENTITY_ID_LENGTH = 128;

/**
 * Characters IoT Hub accepts in device and module ids besides ASCII letters and digits
 * (identity registry docs: `- . + % _ # * ? ! ( ) , : = @ $ '`). Some doc revisions omit `:`;
 * we accept it, since rejecting an id IoT Hub issued would lock a real device out. `/` is never
 * allowed, which is what makes `dev/mod` unambiguous.
 */
const ID_PATTERN = /^[A-Za-z0-9\-.+%_#*?!(),:=@$']+$/;

export type IdentityErrorCode = 'empty-id' | 'id-too-long' | 'invalid-id-character' | 'malformed-identity';

/** A device id, module id or identity string is not acceptable. The message says which rule. */
export class IdentityError extends Error {
  constructor(
    readonly code: IdentityErrorCode,
    readonly field: 'deviceId' | 'moduleId' | 'identity',
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}

function shown(value: string): string {
  // Ids are not secrets, but they come from the network: bound what ends up in logs.
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function checkId(value: string, field: 'deviceId' | 'moduleId'): void {
  if (value.length === 0) {
    throw new IdentityError('empty-id', field, `${field} must not be empty`);
  }
  if (value.length > MAX_IDENTITY_ID_LENGTH) {
    throw new IdentityError('id-too-long', field, `${field} is ${value.length} characters long; IoT Hub allows at most ${MAX_IDENTITY_ID_LENGTH}`);
  }
  if (!ID_PATTERN.test(value)) {
    throw new IdentityError(
      'invalid-id-character',
      field,
      `${field} ${shown(value)} contains a character IoT Hub does not allow (allowed: ASCII letters, digits and - . + % _ # * ? ! ( ) , : = @ $ ')`,
    );
  }
}

export function validateDeviceId(deviceId: string): void {
  checkId(deviceId, 'deviceId');
}

export function validateModuleId(moduleId: string): void {
  checkId(moduleId, 'moduleId');
}

export function isValidDeviceId(deviceId: string): boolean {
  return deviceId.length > 0 && deviceId.length <= MAX_IDENTITY_ID_LENGTH && ID_PATTERN.test(deviceId);
}

export const isValidModuleId = isValidDeviceId;

/** A validated device identity. Throws `IdentityError`. */
export function deviceIdentity(deviceId: string): DeviceIdentity {
  validateDeviceId(deviceId);
  return { kind: 'device', deviceId };
}

/** A validated module identity. Throws `IdentityError`. */
export function moduleIdentity(deviceId: string, moduleId: string): ModuleIdentity {
  validateDeviceId(deviceId);
  validateModuleId(moduleId);
  return { kind: 'module', deviceId, moduleId };
}

/** `dev` or `dev/mod`. */
export function formatIdentity(identity: Identity): string {
  return identity.kind === 'device' ? identity.deviceId : `${identity.deviceId}/${identity.moduleId}`;
}

/** Parses `dev` or `dev/mod` (the MQTT clientId form). Throws `IdentityError`. */
export function parseIdentity(text: string): Identity {
  const parts = text.split('/');
  if (parts.length === 1) {
    return deviceIdentity(text);
  }
  if (parts.length === 2) {
    return moduleIdentity(parts[0] as string, parts[1] as string);
  }
  throw new IdentityError('malformed-identity', 'identity', `identity ${shown(text)} must be "<deviceId>" or "<deviceId>/<moduleId>"`);
}

/** Exact (case-sensitive) equality: IoT Hub ids are case-sensitive. */
export function sameIdentity(a: Identity, b: Identity): boolean {
  if (a.kind !== b.kind || a.deviceId !== b.deviceId) {
    return false;
  }
  return a.kind === 'device' || a.moduleId === (b as ModuleIdentity).moduleId;
}

/** The device an identity belongs to (itself for a device). */
export function parentDevice(identity: Identity): DeviceIdentity {
  return identity.kind === 'device' ? identity : { kind: 'device', deviceId: identity.deviceId };
}
