import { type Identity, IdentityError, formatIdentity, parseIdentity } from '../../domain/identity/identity.js';

/**
 * What an MQTT CONNECT claims, before authentication (iot-sdk-protocol.md §1.1, iotedge-semantics
 * §7.1 `MqttUsernameParser`):
 *
 *   clientId = `<deviceId>` or `<deviceId>/<moduleId>`
 *   username = `<HostName>/<clientId>/?api-version=2021-04-12[&model-id=...]&DeviceClientType=<urlencoded UA>`
 *
 * `HostName` is the IoT hub name even when the client reached us through `GatewayHostName`
 * (§2.3); the caller decides which host names it accepts. edgeHub also accepts the username without
 * `?` before the parameters and extra parameters such as `auth-chain`; so do we.
 */
export interface MqttConnectClaim {
  readonly identity: Identity;
  /** The host name in the username, as sent. */
  readonly hostName: string;
  readonly apiVersion: string;
  /** All username parameters, URL-decoded where decodable. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly deviceClientType?: string;
  readonly modelId?: string;
}

export type MqttConnectErrorCode = 'bad-client-id' | 'bad-username' | 'client-id-mismatch' | 'missing-api-version' | 'unexpected-host';

/** The CONNECT does not identify a device or module. CONNACK 2 (identifier rejected) or 4 (bad username or password). */
export class MqttConnectError extends Error {
  constructor(
    readonly code: MqttConnectErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MqttConnectError';
  }
}

function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function lenientDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseParameters(query: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of query.split('&')) {
    if (pair.length === 0) {
      continue;
    }
    const eq = pair.indexOf('=');
    const key = lenientDecode(eq < 0 ? pair : pair.slice(0, eq));
    Object.defineProperty(result, key, { value: eq < 0 ? '' : lenientDecode(pair.slice(eq + 1)), enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/**
 * Parses clientId and username of a CONNECT into a claim. With `acceptedHostNames`, the
 * username's host must be one of them (case-insensitive). Throws `MqttConnectError` only.
 */
export function parseMqttConnect(packet: { clientId: string; username?: string | undefined }, acceptedHostNames?: readonly string[]): MqttConnectClaim {
  let identity: Identity;
  try {
    identity = parseIdentity(packet.clientId);
  } catch (error) {
    if (error instanceof IdentityError) {
      throw new MqttConnectError('bad-client-id', `client id must be "<deviceId>" or "<deviceId>/<moduleId>": ${error.message}`);
    }
    throw error;
  }
  const username = packet.username;
  if (username === undefined || username.length === 0) {
    throw new MqttConnectError('bad-username', 'username is required: "<hub host name>/<client id>/?api-version=..."');
  }
  // The parameters are the last `/` segment, after a leading `?` (edgeHub's `MqttUsernameParser`
  // splits on `/` too). Ids may contain `?` (IoT Hub allows it): the first `?` is not the query.
  // edgeHub also accepts `<host>/<clientId>/api-version=...&...` (no "?").
  const slash = username.lastIndexOf('/');
  const last = username.slice(slash + 1);
  let path: string;
  let query: string;
  if (last.startsWith('?') || last.includes('=')) {
    path = username.slice(0, slash + 1);
    query = last.startsWith('?') ? last.slice(1) : last;
  } else {
    path = username;
    query = '';
  }
  const segments = path.split('/');
  if (segments[segments.length - 1] === '') {
    segments.pop();
  }
  const [hostName, ...ids] = segments;
  if (hostName === undefined || hostName.length === 0 || ids.length < 1 || ids.length > 2) {
    throw new MqttConnectError('bad-username', `username ${shown(username)} must be "<hub host name>/<deviceId>[/<moduleId>]/?api-version=..."`);
  }
  const usernameId = ids.join('/');
  if (usernameId !== formatIdentity(identity)) {
    throw new MqttConnectError('client-id-mismatch', `username names ${shown(usernameId)} but the client id is ${shown(packet.clientId)}`);
  }
  if (acceptedHostNames !== undefined && !acceptedHostNames.some((h) => h.toLowerCase() === hostName.toLowerCase())) {
    throw new MqttConnectError('unexpected-host', `username names host ${shown(hostName)}; this hub answers for ${acceptedHostNames.join(', ')}`);
  }
  const parameters = parseParameters(query);
  const apiVersion = Object.hasOwn(parameters, 'api-version') ? parameters['api-version'] : undefined;
  if (apiVersion === undefined || apiVersion.length === 0) {
    throw new MqttConnectError('missing-api-version', 'username must carry an api-version parameter (value not checked)');
  }
  const deviceClientType = Object.hasOwn(parameters, 'DeviceClientType') ? parameters['DeviceClientType'] : undefined;
  const modelId = Object.hasOwn(parameters, 'model-id') ? parameters['model-id'] : undefined;
  return {
    identity,
    hostName,
    apiVersion,
    parameters,
    ...(deviceClientType !== undefined ? { deviceClientType } : {}),
    ...(modelId !== undefined ? { modelId } : {}),
  };
}
