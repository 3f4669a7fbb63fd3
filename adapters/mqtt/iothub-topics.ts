import { type DeviceIdentity, type Identity, IdentityError, type ModuleIdentity, deviceIdentity, moduleIdentity } from '../../domain/identity/identity.js';
import type { ClientOperation } from '../../domain/identity/authorization.js';
import { type OutgoingPropertyBag, type PropertyBag, PropertyBagError, decodePropertyBag, encodePropertyBag } from './property-bag.js';

/**
 * The IoT Hub MQTT topic surface that the Azure IoT device SDKs use (iot-sdk-protocol.md §1.3,
 * iotedge-semantics.md §7.1), as pure parse/format functions. The hub head turns client PUBLISH
 * topics and SUBSCRIBE filters into these values, authorizes them (`operationForPublish`,
 * `operationForSubscription`), and formats what it publishes to clients.
 */

export type IotHubTopicErrorCode = 'unknown-topic' | 'bad-identity' | 'bad-property-bag' | 'missing-request-id' | 'bad-query' | 'bad-status' | 'bad-version' | 'bad-name';

export class IotHubTopicError extends Error {
  constructor(
    readonly code: IotHubTopicErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IotHubTopicError';
  }
}

/** What a client may PUBLISH. */
export type PublishTopic =
  /** `devices/{d}/messages/events/{bag}` or `devices/{d}/modules/{m}/messages/events/{bag}`; outputs carry `outputName` in the bag. */
  | { readonly kind: 'telemetry'; readonly identity: Identity; readonly bag: PropertyBag }
  /** `$iothub/twin/GET/?$rid={rid}` */
  | { readonly kind: 'twin-get'; readonly requestId: string }
  /** `$iothub/twin/PATCH/properties/reported/?$rid={rid}[&$version={v}]` */
  | { readonly kind: 'twin-patch-reported'; readonly requestId: string; readonly version?: number }
  /** `$iothub/methods/res/{status}/?$rid={rid}` */
  | { readonly kind: 'method-response'; readonly requestId: string; readonly status: number };

/** What a client may SUBSCRIBE to. */
export type SubscriptionTopic =
  /** `devices/{d}/messages/devicebound/#` */
  | { readonly kind: 'c2d'; readonly identity: DeviceIdentity }
  /** `devices/{d}/modules/{m}/inputs/#` (Node SDK) or `devices/{d}/modules/{m}/#` (edgeHub's regex) */
  | { readonly kind: 'inputs'; readonly identity: ModuleIdentity }
  /** `$iothub/methods/POST/#` */
  | { readonly kind: 'methods' }
  /** `$iothub/twin/res/#` */
  | { readonly kind: 'twin-responses' }
  /** `$iothub/twin/PATCH/properties/desired/#` */
  | { readonly kind: 'twin-desired' };

const TELEMETRY_DEVICE = /^devices\/([^/]+)\/messages\/events(?:\/(.*))?$/s;
const TELEMETRY_MODULE = /^devices\/([^/]+)\/modules\/([^/]+)\/messages\/events(?:\/(.*))?$/s;
const TWIN_GET = /^\$iothub\/twin\/GET\/?\?(.*)$/s;
const TWIN_PATCH_REPORTED = /^\$iothub\/twin\/PATCH\/properties\/reported\/?\?(.*)$/s;
const METHOD_RESPONSE = /^\$iothub\/methods\/res\/([^/?]*)\/?\?(.*)$/s;

const SUB_C2D = /^devices\/([^/]+)\/messages\/devicebound\/#$/;
const SUB_INPUTS = /^devices\/([^/]+)\/modules\/([^/]+)\/(?:inputs\/)?#$/;

function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function identityFrom(deviceId: string, moduleId: string | undefined): Identity {
  // IoT Hub allows `+` and `#` in ids, but in MQTT they are wildcards: never valid in a PUBLISH
  // topic name, and in a filter they would subscribe to other identities.
  if (/[+#]/.test(deviceId) || (moduleId !== undefined && /[+#]/.test(moduleId))) {
    throw new IotHubTopicError('bad-identity', 'MQTT topics cannot name identities containing "+" or "#" (they are wildcards)');
  }
  try {
    return moduleId === undefined ? deviceIdentity(deviceId) : moduleIdentity(deviceId, moduleId);
  } catch (error) {
    if (error instanceof IdentityError) {
      throw new IotHubTopicError('bad-identity', `topic names an invalid identity: ${error.message}`);
    }
    throw error;
  }
}

function bagFrom(text: string | undefined): PropertyBag {
  try {
    return decodePropertyBag(text ?? '');
  } catch (error) {
    if (error instanceof PropertyBagError) {
      throw new IotHubTopicError('bad-property-bag', error.message);
    }
    throw error;
  }
}

/** `$rid=1&$version=2` -> map; values URL-decoded (the SDKs build these with querystring). */
export function parseTopicQuery(query: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair.length === 0) {
      continue;
    }
    const eq = pair.indexOf('=');
    try {
      result.set(decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq)), eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      throw new IotHubTopicError('bad-query', 'topic query contains an invalid percent-encoding');
    }
  }
  return result;
}

function requestIdFrom(query: Map<string, string>, topic: string): string {
  const rid = query.get('$rid');
  if (rid === undefined || rid.length === 0) {
    throw new IotHubTopicError('missing-request-id', `topic ${shown(topic)} needs a non-empty $rid`);
  }
  return rid;
}

function versionFrom(text: string | undefined): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new IotHubTopicError('bad-version', '$version must be a non-negative integer');
  }
  return Number(text);
}

/** Parses a client PUBLISH topic. Throws `IotHubTopicError` and nothing else. */
export function parsePublishTopic(topic: string): PublishTopic {
  let m = TELEMETRY_MODULE.exec(topic);
  if (m !== null) {
    return { kind: 'telemetry', identity: identityFrom(m[1] as string, m[2] as string), bag: bagFrom(m[3]) };
  }
  m = TELEMETRY_DEVICE.exec(topic);
  if (m !== null) {
    return { kind: 'telemetry', identity: identityFrom(m[1] as string, undefined), bag: bagFrom(m[2]) };
  }
  m = TWIN_GET.exec(topic);
  if (m !== null) {
    return { kind: 'twin-get', requestId: requestIdFrom(parseTopicQuery(m[1] as string), topic) };
  }
  m = TWIN_PATCH_REPORTED.exec(topic);
  if (m !== null) {
    const query = parseTopicQuery(m[1] as string);
    const version = versionFrom(query.get('$version'));
    const requestId = requestIdFrom(query, topic);
    return version === undefined ? { kind: 'twin-patch-reported', requestId } : { kind: 'twin-patch-reported', requestId, version };
  }
  m = METHOD_RESPONSE.exec(topic);
  if (m !== null) {
    const statusText = m[1] as string;
    if (!/^[0-9]{1,9}$/.test(statusText)) {
      throw new IotHubTopicError('bad-status', 'method response status must be an integer');
    }
    return { kind: 'method-response', status: Number(statusText), requestId: requestIdFrom(parseTopicQuery(m[2] as string), topic) };
  }
  throw new IotHubTopicError('unknown-topic', `${shown(topic)} is not an IoT Hub topic a client may publish to`);
}

/** Parses a client SUBSCRIBE filter. Throws `IotHubTopicError` and nothing else. */
export function parseSubscriptionFilter(filter: string): SubscriptionTopic {
  switch (filter) {
    case '$iothub/methods/POST/#':
      return { kind: 'methods' };
    case '$iothub/twin/res/#':
      return { kind: 'twin-responses' };
    case '$iothub/twin/PATCH/properties/desired/#':
      return { kind: 'twin-desired' };
  }
  let m = SUB_C2D.exec(filter);
  if (m !== null) {
    return { kind: 'c2d', identity: identityFrom(m[1] as string, undefined) as DeviceIdentity };
  }
  m = SUB_INPUTS.exec(filter);
  if (m !== null) {
    return { kind: 'inputs', identity: identityFrom(m[1] as string, m[2] as string) as ModuleIdentity };
  }
  throw new IotHubTopicError('unknown-topic', `${shown(filter)} is not an IoT Hub topic filter a client may subscribe to`);
}

/** The authorization question a PUBLISH asks (domain/identity/authorization.ts). */
export function operationForPublish(topic: PublishTopic): ClientOperation {
  switch (topic.kind) {
    case 'telemetry': {
      const outputName = topic.bag.systemProperties['outputName'];
      return outputName === undefined ? { kind: 'send-telemetry', target: topic.identity } : { kind: 'send-telemetry', target: topic.identity, outputName };
    }
    case 'twin-get':
      return { kind: 'twin-get' };
    case 'twin-patch-reported':
      return { kind: 'twin-patch-reported' };
    case 'method-response':
      return { kind: 'method-respond' };
  }
}

/** The authorization question a SUBSCRIBE asks. */
export function operationForSubscription(topic: SubscriptionTopic): ClientOperation {
  switch (topic.kind) {
    case 'c2d':
      return { kind: 'receive-c2d', target: topic.identity };
    case 'inputs':
      return { kind: 'receive-inputs', target: topic.identity };
    case 'methods':
      return { kind: 'method-receive' };
    case 'twin-responses':
      return { kind: 'twin-receive-responses' };
    case 'twin-desired':
      return { kind: 'twin-receive-desired' };
  }
}

/**
 * Input and method names become one raw topic segment: the SDK takes `split('/')[5]` without
 * decoding for inputs and `path[3]` for methods, so `/` is impossible and `+ # ?` would break
 * MQTT or the SDK's URL parsing.
 */
function checkName(what: string, name: string): void {
  if (name.length === 0 || /[/+#?\u0000-\u001f\u007f]/.test(name)) {
    throw new IotHubTopicError('bad-name', `${what} ${shown(name)} must be non-empty and contain no "/", "+", "#", "?" or control characters`);
  }
}

function checkStatus(status: number): void {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new IotHubTopicError('bad-status', `status ${status} must be a three-digit integer`);
  }
}

/** `devices/{d}/messages/devicebound/{bag}`. The trailing `/` is required by the SDK even with an empty bag. */
export function formatC2dTopic(deviceId: string, bag: OutgoingPropertyBag): string {
  return `devices/${deviceId}/messages/devicebound/${encodePropertyBag(bag)}`;
}

/** `devices/{d}/modules/{m}/inputs/{input}/{bag}`, trailing `/` included (iot-sdk-protocol §1.3). */
export function formatInputTopic(identity: ModuleIdentity, inputName: string, bag: OutgoingPropertyBag): string {
  checkName('input name', inputName);
  return `devices/${identity.deviceId}/modules/${identity.moduleId}/inputs/${inputName}/${encodePropertyBag(bag)}`;
}

/** `$iothub/twin/res/{status}/?$rid={rid}[&$version={v}]` */
export function formatTwinResponseTopic(status: number, requestId: string, version?: number): string {
  checkStatus(status);
  const base = `$iothub/twin/res/${status}/?$rid=${encodeURIComponent(requestId)}`;
  return version === undefined ? base : `${base}&$version=${version}`;
}

/** `$iothub/twin/PATCH/properties/desired/?$version={v}` */
export function formatDesiredPatchTopic(version: number): string {
  return `$iothub/twin/PATCH/properties/desired/?$version=${version}`;
}

/** `$iothub/methods/POST/{method}/?$rid={rid}` */
export function formatMethodRequestTopic(methodName: string, requestId: string): string {
  checkName('method name', methodName);
  if (requestId.length === 0) {
    throw new IotHubTopicError('missing-request-id', 'a method request needs a non-empty request id: the SDK cannot answer without $rid');
  }
  return `$iothub/methods/POST/${methodName}/?$rid=${encodeURIComponent(requestId)}`;
}

/**
 * What the Node SDK publishes for telemetry (`_getEventTopicFromMessage`): system properties via
 * `querystring.stringify` (same escaping as `encodeURIComponent`), user properties after, and a
 * trailing `/` for output events. For tests and for an MQTT upstream.
 */
export function formatTelemetryTopicAsSdk(identity: Identity, systemWireProperties: ReadonlyArray<readonly [string, string]>, userProperties: ReadonlyArray<readonly [string, string]>, output?: string): string {
  const base = identity.kind === 'device' ? `devices/${identity.deviceId}/messages/events/` : `devices/${identity.deviceId}/modules/${identity.moduleId}/messages/events/`;
  const system = output === undefined ? systemWireProperties : [['$.on', output] as const, ...systemWireProperties];
  const sys = system.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  let topic = base + sys;
  userProperties.forEach(([k, v], i) => {
    if (i > 0 || sys.length > 0) {
      topic += '&';
    }
    topic += `${encodeURIComponent(k)}=${encodeURIComponent(v)}`;
  });
  return output === undefined ? topic : `${topic}/`;
}
