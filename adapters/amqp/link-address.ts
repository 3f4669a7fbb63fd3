import { type Identity, IdentityError, deviceIdentity, moduleIdentity } from '../../domain/identity/identity.js';

/**
 * IoT Hub AMQP link addresses (iot-sdk-protocol.md §3.3, §3.6; edgeHub `Templates.cs`,
 * iotedge-semantics.md §7.2). The fixed parts match case-insensitively (`deviceBound` and
 * `devicebound` both occur); device and module ids are case-sensitive and may be percent-encoded.
 *
 *   $cbs
 *   /devices/<d>[/modules/<m>]/messages/events        telemetry + outputs (client sends), module inputs (client receives)
 *   /devices/<d>[/modules/<m>]/messages/devicebound   cloud-to-device (client receives)
 *   /devices/<d>[/modules/<m>]/twin                   twin requests and responses (both directions)
 *   /devices/<d>[/modules/<m>]/methods/devicebound    direct methods (both directions)
 *
 * An address may carry a scheme and host (`amqps://host/devices/...`); they are ignored.
 */
export type LinkAddress =
  | { readonly kind: 'cbs' }
  | { readonly kind: 'events' | 'devicebound' | 'twin' | 'methods'; readonly identity: Identity };

export class LinkAddressError extends Error {
  readonly code = 'bad-link-address';
  constructor(message: string) {
    super(message);
    this.name = 'LinkAddressError';
  }
}

const SUFFIXES: ReadonlyArray<readonly [string, LinkAddress['kind']]> = [
  ['messages/events', 'events'],
  ['messages/devicebound', 'devicebound'],
  ['twin', 'twin'],
  ['methods/devicebound', 'methods'],
];

function shown(address: string): string {
  return JSON.stringify(address.length > 200 ? `${address.slice(0, 200)}…` : address);
}

function decodeId(raw: string, address: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new LinkAddressError(`link address ${shown(address)} has an invalid percent-encoding`);
  }
}

/** Parses a link address. Throws `LinkAddressError` naming the rule that failed. */
export function parseLinkAddress(address: string | undefined): LinkAddress {
  if (address === undefined || address.length === 0) throw new LinkAddressError('link has no address');
  let path = address;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path);
  if (scheme !== null) path = path.slice(scheme[0].length);
  if (path.startsWith('/')) path = path.slice(1);
  if (path.toLowerCase() === '$cbs') return { kind: 'cbs' };
  const parts = path.split('/');
  if (parts.length < 3 || parts[0]!.toLowerCase() !== 'devices') {
    throw new LinkAddressError(`unknown link address ${shown(address)}: expected /devices/<deviceId>[/modules/<moduleId>]/(messages/events|messages/devicebound|twin|methods/devicebound) or $cbs`);
  }
  const deviceId = decodeId(parts[1]!, address);
  let rest = parts.slice(2);
  let moduleId: string | undefined;
  if (rest[0]?.toLowerCase() === 'modules' && rest.length >= 3) {
    moduleId = decodeId(rest[1]!, address);
    rest = rest.slice(2);
  }
  const suffix = rest.join('/').toLowerCase();
  const match = SUFFIXES.find(([s]) => s === suffix);
  if (match === undefined) {
    throw new LinkAddressError(`unknown link address ${shown(address)}: expected .../messages/events, .../messages/devicebound, .../twin or .../methods/devicebound`);
  }
  let identity: Identity;
  try {
    identity = moduleId === undefined ? deviceIdentity(deviceId) : moduleIdentity(deviceId, moduleId);
  } catch (error) {
    if (error instanceof IdentityError) throw new LinkAddressError(`link address ${shown(address)}: ${error.message}`);
    throw error;
  }
  return { kind: match[1], identity };
}

/** `/devices/<d>[/modules/<m>]` for an identity (ids percent-encoded where needed). */
export function identityPath(identity: Identity): string {
  const device = `/devices/${encodeURIComponent(identity.deviceId)}`;
  return identity.kind === 'device' ? device : `${device}/modules/${encodeURIComponent(identity.moduleId)}`;
}

/**
 * Parses a CBS audience or SAS `sr`: `<host>/devices/<d>[/modules/<m>]`, URL-encoded or not
 * (the SDK sends it encoded, e.g. `hub.azure-devices.net%2Fdevices%2Fdev1`). Returns the host and
 * identity; throws `LinkAddressError`.
 */
export function parseAudience(audience: string): { host: string; identity: Identity } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(audience);
  } catch {
    throw new LinkAddressError('CBS audience has an invalid percent-encoding');
  }
  const match = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/]+)\/devices\/([^/]+)(?:\/modules\/([^/]+))?\/?$/i.exec(decoded);
  if (match === null) {
    throw new LinkAddressError(`CBS audience ${shown(decoded)} is not "<host>/devices/<deviceId>[/modules/<moduleId>]"`);
  }
  try {
    const identity = match[3] === undefined ? deviceIdentity(match[2]!) : moduleIdentity(match[2]!, match[3]);
    return { host: match[1]!, identity };
  } catch (error) {
    if (error instanceof IdentityError) throw new LinkAddressError(`CBS audience: ${error.message}`);
    throw error;
  }
}

/**
 * Parses a SASL PLAIN user name: `<deviceId>[/modules/<moduleId>]@sas.<hub>` (edgeHub's
 * `SaslPlainAuthenticator`; iotedge-semantics.md §7.2). Returns the identity and hub name.
 */
export function parseSaslPlainUser(user: string): { identity: Identity; hub: string } {
  const match = /^([^/@]+)(?:\/modules\/([^/@]+))?@sas\.(.+)$/i.exec(user);
  if (match === null) {
    throw new LinkAddressError(`SASL PLAIN user name ${shown(user)} is not "<deviceId>[/modules/<moduleId>]@sas.<hub>"`);
  }
  try {
    const identity = match[2] === undefined ? deviceIdentity(match[1]!) : moduleIdentity(match[1]!, match[2]);
    return { identity, hub: match[3]! };
  } catch (error) {
    if (error instanceof IdentityError) throw new LinkAddressError(`SASL PLAIN user name: ${error.message}`);
    throw error;
  }
}
