/**
 * The IoT Hub MQTT property bag: the last topic segment, `k=v&k2=v2`, URL-encoded, where keys
 * starting with `$.` (and `iothub-operation`) are system properties (iot-sdk-protocol.md §1.3;
 * edgeHub `Hub.Core/SystemProperties.cs` `IncomingSystemPropertiesMap`/`OutgoingSystemPropertiesMap`;
 * iotedge-semantics.md §5.6, §7.1).
 */
import { setOwnProperty } from '../../domain/messages/message.js';

/** System property names as the hub keeps them (edgeHub / routing names), by MQTT wire name. */
export const MQTT_WIRE_TO_SYSTEM_PROPERTY: Readonly<Record<string, string>> = Object.freeze({
  '$.mid': 'messageId',
  // edgeHub stores `$.cid` as `cid` (iotedge-semantics §5.6); we use the routing name `correlationId`.
  '$.cid': 'correlationId',
  '$.to': 'to',
  '$.uid': 'userId',
  '$.exp': 'absolute-expiry-time',
  '$.ct': 'contentType',
  '$.ce': 'contentEncoding',
  '$.on': 'outputName',
  '$.cdid': 'connectionDeviceId',
  '$.cmid': 'connectionModuleId',
  '$.schema': 'messageSchema',
  '$.ctime': 'creationTime',
  '$.ifid': 'iothub-interface-id',
  // The SDK renames the user property `dt-subject` (component name) to `$.sub` (iot-sdk-protocol §1.3).
  '$.sub': 'dt-subject',
  'iothub-operation': 'operation',
});

/**
 * System properties the hub sends to clients on C2D and input topics, with their wire names:
 * edgeHub's `OutgoingSystemPropertiesMap` (no `$.on`, `$.sub` or `$.ifid` on the way out). The
 * SDK maps `$.mid $.to $.exp $.cid $.uid $.ct $.ce` to Message fields and keeps the others
 * (`$.cdid`, `$.cmid`, ...) as application properties (iot-sdk-protocol.md §1.3).
 */
export const MQTT_SYSTEM_PROPERTY_TO_WIRE: Readonly<Record<string, string>> = Object.freeze({
  'absolute-expiry-time': '$.exp',
  correlationId: '$.cid',
  messageId: '$.mid',
  to: '$.to',
  userId: '$.uid',
  contentType: '$.ct',
  contentEncoding: '$.ce',
  messageSchema: '$.schema',
  operation: 'iothub-operation',
  creationTime: '$.ctime',
  connectionDeviceId: '$.cdid',
  connectionModuleId: '$.cmid',
});

/** Properties as the hub sees them: system properties by hub name, application properties as sent. */
export interface PropertyBag {
  readonly systemProperties: Readonly<Record<string, string>>;
  readonly properties: Readonly<Record<string, string>>;
}

export class PropertyBagError extends Error {
  readonly code = 'bad-property-bag';
  constructor(message: string) {
    super(message);
    this.name = 'PropertyBagError';
  }
}

/**
 * Properties of a message going out: values that are not strings (a `null` from a JSON document)
 * are not sent.
 */
export interface OutgoingPropertyBag {
  readonly systemProperties: Readonly<Record<string, string | null | undefined>>;
  readonly properties: Readonly<Record<string, string | null | undefined>>;
}

/** System property name -> its wire name, percent-encoded once. */
const ENCODED_WIRE_NAMES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(MQTT_SYSTEM_PROPERTY_TO_WIRE).map(([name, wire]) => [name, encodeURIComponent(wire)])),
);

/** Longest bag accepted: a topic is at most 65535 bytes, and the whole message at most 256 KB. */
export const MAX_PROPERTY_BAG_LENGTH = 65_535;


function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PropertyBagError('property bag contains an invalid percent-encoding');
  }
}

/**
 * Decodes a bag sent by a client (telemetry, outputs). Accepts what the SDKs send: system
 * properties first via `querystring.stringify` (`%24.mid=...`), user properties after, and the
 * trailing `/` the Node SDK appends to output topics (`%24.on=out1/`). Empty pairs are skipped; a
 * key without `=` gets the empty value; a repeated key keeps its last value.
 */
export function decodePropertyBag(bag: string): PropertyBag {
  if (bag.length > MAX_PROPERTY_BAG_LENGTH) {
    throw new PropertyBagError(`property bag is longer than ${MAX_PROPERTY_BAG_LENGTH} characters`);
  }
  const text = bag.endsWith('/') ? bag.slice(0, -1) : bag;
  if (text.includes('/')) {
    throw new PropertyBagError('property bag must not contain "/" (percent-encode it as %2F)');
  }
  const systemProperties: Record<string, string> = {};
  const properties: Record<string, string> = {};
  if (text.length === 0) {
    return { systemProperties, properties };
  }
  for (const pair of text.split('&')) {
    if (pair.length === 0) {
      continue;
    }
    const eq = pair.indexOf('=');
    const key = decodePart(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodePart(pair.slice(eq + 1));
    if (key.length === 0) {
      throw new PropertyBagError('property bag contains a property with an empty name');
    }
    const systemName = MQTT_WIRE_TO_SYSTEM_PROPERTY[key];
    if (systemName !== undefined && Object.hasOwn(MQTT_WIRE_TO_SYSTEM_PROPERTY, key)) {
      setOwnProperty(systemProperties, systemName, value);
    } else {
      setOwnProperty(properties, key, value);
    }
  }
  return { systemProperties, properties };
}

/** An unpaired UTF-16 surrogate: `encodeURIComponent` throws on it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `encodeURIComponent`, except that an unpaired surrogate (a JSON `"\ud800"` in a C2D property
 * from the management API) becomes U+FFFD, as it would in any UTF-8 on the wire, instead of
 * throwing: a throw made the message undeliverable and held the device's C2D queue behind it.
 */
function encodeWire(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
  }
}

/**
 * Encodes a bag for delivery to a client (C2D, module inputs). The SDK parses it with
 * `split('&')`, `split('=')` and `decodeURIComponent` on both halves (iot-sdk-protocol.md §1.3),
 * so every key and value is `encodeURIComponent`-ed: `=`, `&` and `/` never appear raw. System
 * properties without a wire name are not sent (they are hub-internal, e.g. `edgeMessageId`).
 */
export function encodePropertyBag(bag: OutgoingPropertyBag): string {
  let out = '';
  const system = bag.systemProperties;
  for (const name in system) {
    const value = system[name];
    const wire = Object.hasOwn(system, name) && typeof value === 'string' && Object.hasOwn(ENCODED_WIRE_NAMES, name) ? ENCODED_WIRE_NAMES[name] : undefined;
    if (wire !== undefined) out += `${out.length === 0 ? '' : '&'}${wire}=${encodeWire(value!)}`;
  }
  const properties = bag.properties;
  for (const key in properties) {
    const value = properties[key];
    if (Object.hasOwn(properties, key) && typeof value === 'string') out += `${out.length === 0 ? '' : '&'}${encodeWire(key)}=${encodeWire(value)}`;
  }
  return out;
}
