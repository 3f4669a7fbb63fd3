import rhea, { type Message as AmqpMessage } from 'rhea';
import type { Message, Properties } from '../../domain/messages/message.js';

/**
 * Conversion between AMQP messages as the IoT SDKs send and expect them (iot-sdk-protocol.md §3.4;
 * edgeHub `AmqpMessageConverter`) and the hub's `Message`.
 *
 * Inbound (telemetry, outputs): `message_id`/`correlation_id` (uuid-typed ids become their string
 * form), `content_type`, `content_encoding`, `to`, `user_id`, `absolute_expiry_time`,
 * `creation_time` become system properties; application property `iothub-outputname` becomes
 * `outputName`; annotations `dt-subject` and `iothub-interface-id` are kept as system properties;
 * other application properties become properties (non-strings as text). The body may be one or
 * more data sections (the SDK), an amqp-value string or binary.
 *
 * Outbound (C2D, inputs): the reverse, with the sender's identity in the annotations
 * `iothub-connection-device-id` / `iothub-connection-module-id` and the body as a data section
 * (an amqp-value body leaves the SDK's `msg.data` undefined).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An AMQP message-id/correlation-id as text: uuid (16-byte buffer) in its string form, others as written. */
export function idText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value.length === 16 ? rhea.uuid_to_string(value) : value.toString('utf8');
  return String(value);
}

/** A string id for the wire: uuid-typed when it looks like one (what the SDK does), else a string. */
export function wireId(id: string): string | Buffer {
  return UUID.test(id) ? rhea.string_to_uuid(id.toLowerCase()) : id;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  // A key named `__proto__` must become a plain property (defineProperty); every other key is a
  // plain assignment, which keeps the object in V8's fast mode (defineProperty per key turns it into
  // a dictionary, slower to build and for rhea to encode).
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

interface Section {
  typecode?: number;
  content?: unknown;
  multiple?: boolean;
}

/** The body bytes of a received message. */
export function bodyBytes(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const section = body as Section;
  if (typeof section === 'object' && section.typecode === 0x75) {
    if (section.multiple === true && Array.isArray(section.content)) return Buffer.concat((section.content as Section[]).map((s) => bodyBytes(s.content ?? s)));
    return Buffer.isBuffer(section.content) ? section.content : Buffer.alloc(0);
  }
  if (typeof section === 'object' && section.typecode === 0x77) return bodyBytes(section.content);
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** A message a client sent (telemetry or module output), before the backend adds the sender's identity. */
export function fromAmqpMessage(amqp: AmqpMessage): Message {
  const systemProperties: Properties = {};
  const properties: Properties = {};
  const set = (name: string, value: unknown): void => {
    const t = value instanceof Date ? value.toISOString() : text(value);
    if (t !== null) define(systemProperties, name, t);
  };
  const messageId = idText(amqp.message_id);
  if (messageId !== undefined) set('messageId', messageId);
  const correlationId = idText(amqp.correlation_id);
  if (correlationId !== undefined) set('correlationId', correlationId);
  if (amqp.content_type !== undefined) set('contentType', amqp.content_type);
  if (amqp.content_encoding !== undefined) set('contentEncoding', amqp.content_encoding);
  if (amqp.to !== undefined) set('to', amqp.to);
  if (amqp.user_id !== undefined) set('userId', amqp.user_id);
  if (amqp.absolute_expiry_time !== undefined) set('absolute-expiry-time', amqp.absolute_expiry_time);
  if (amqp.creation_time !== undefined) set('creationTime', amqp.creation_time);
  const annotations = (amqp.message_annotations ?? {}) as Record<string, unknown>;
  for (const name of ['dt-subject', 'iothub-interface-id']) {
    if (Object.hasOwn(annotations, name)) set(name, annotations[name]);
  }
  const app = (amqp.application_properties ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(app)) {
    if (key === 'iothub-outputname') set('outputName', app[key]);
    else define(properties, key, text(app[key]));
  }
  return { body: bodyBytes(amqp.body), properties, systemProperties };
}

/** The AMQP message for a client (C2D or module input), body as a data section. */
export function toAmqpMessage(message: Message, annotations: Record<string, unknown> = {}): AmqpMessage {
  const amqp = amqpHeaders(message, annotations);
  amqp.body = rhea.message.data_section(Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength));
  return amqp;
}

/**
 * `toAmqpMessage` encoded for `Sender.send(bytes, undefined, 0)`: the same bytes as
 * `rhea.message.encode(toAmqpMessage(...))`, but rhea encodes only the (small) header sections and
 * the body is copied once, into an exact-size buffer, behind them. rhea's encoder would write the
 * body into a zero-filled 1 KiB buffer, grow it to a zero-filled 2 KiB one and copy it again.
 */
export function encodeAmqpMessage(message: Message, annotations: Record<string, unknown> = {}): Buffer {
  return encodeWithDataBody(amqpHeaders(message, annotations), message.body);
}

/** rhea's encoding of a message without a body ends with this body section: amqp-value null. */
const NULL_BODY = Buffer.from([0x00, 0x53, 0x77, 0x40]);

/** `rhea.message.encode({ ...headers, body: data_section(body) })` (`headers` has no body). */
export function encodeWithDataBody(headers: AmqpMessage, body: Uint8Array): Buffer {
  const encoded = rhea.message.encode(headers);
  // rhea writes the body last (after a footer, which we never set); drop its amqp-value null.
  if (encoded.length < NULL_BODY.length || NULL_BODY.compare(encoded, encoded.length - NULL_BODY.length) !== 0) {
    throw new Error('unexpected AMQP encoding of a message without a body');
  }
  const head = encoded.subarray(0, encoded.length - NULL_BODY.length);
  const n = body.byteLength;
  // data section: descriptor 0x00 smallulong(0x75), then vbin8 (<= 255 bytes) or vbin32, as rhea's wrap_binary.
  const prefix = n > 255 ? 8 : 5;
  const out = Buffer.allocUnsafe(head.length + prefix + n);
  head.copy(out, 0);
  let at = head.length;
  out[at++] = 0x00;
  out[at++] = 0x53;
  out[at++] = 0x75;
  if (n > 255) {
    out[at++] = 0xb0;
    out.writeUInt32BE(n, at);
    at += 4;
  } else {
    out[at++] = 0xa0;
    out[at++] = n;
  }
  out.set(body, at);
  return out;
}

function dateOf(value: string | null | undefined): Date | undefined {
  if (value === null || value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function present(value: string | null | undefined): value is string {
  return value !== null && value !== undefined;
}

/** Everything of the AMQP message for a client but the body. */
function amqpHeaders(message: Message, annotations: Record<string, unknown>): AmqpMessage {
  const sys = message.systemProperties;
  // Own properties only (a message's property bags are plain objects, but may carry `__proto__` as a key).
  const get = (name: string): string | null | undefined => (Object.hasOwn(sys, name) ? sys[name] : undefined);
  const amqp = {} as AmqpMessage; // the body is added by the caller
  const messageId = get('messageId');
  if (present(messageId)) amqp.message_id = messageId;
  const correlationId = get('correlationId');
  if (present(correlationId)) amqp.correlation_id = correlationId;
  const contentType = get('contentType');
  if (present(contentType)) amqp.content_type = contentType;
  const contentEncoding = get('contentEncoding');
  if (present(contentEncoding)) amqp.content_encoding = contentEncoding;
  const to = get('to');
  if (present(to)) amqp.to = to;
  const userId = get('userId');
  if (present(userId)) amqp.user_id = userId;
  const expiryDate = dateOf(get('absolute-expiry-time') ?? get('expiryTimeUtc'));
  if (expiryDate !== undefined) amqp.absolute_expiry_time = expiryDate;
  const createdDate = dateOf(get('creationTime'));
  if (createdDate !== undefined) amqp.creation_time = createdDate;
  let ma: Record<string, unknown> | undefined;
  for (const key in annotations) {
    if (Object.hasOwn(annotations, key)) define((ma ??= {}), key, annotations[key]);
  }
  const cdid = get('connectionDeviceId');
  if (present(cdid)) (ma ??= {})['iothub-connection-device-id'] = cdid;
  const cmid = get('connectionModuleId');
  if (present(cmid)) (ma ??= {})['iothub-connection-module-id'] = cmid;
  if (ma !== undefined) amqp.message_annotations = ma;
  let app: Record<string, unknown> | undefined;
  const props = message.properties;
  for (const key in props) {
    if (!Object.hasOwn(props, key)) continue;
    const v = props[key];
    if (present(v)) define((app ??= {}), key, v);
  }
  if (app !== undefined) amqp.application_properties = app;
  return amqp;
}
