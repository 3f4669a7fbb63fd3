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

function define(target: Properties, key: string, value: string | null): void {
  // defineProperty: a key named `__proto__` must become a plain property.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
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

/**
 * IoT Hub's batched message format (`AmqpConstants.AmqpBatchedMessageFormat`, 0x137 = Microsoft's
 * IANA number): one transfer whose body is one data section per message, each holding a complete
 * encoded AMQP message. The C# device SDK's `SendEventAsync(IEnumerable<Message>)` and edgeHub's
 * upstream send telemetry this way; the hub settles the whole batch with one outcome.
 */
export const BATCHED_MESSAGE_FORMAT = 0x80013700;

/** The messages of a transfer in the batched format, in order (throws on a malformed batch). */
export function expandBatch(payload: Buffer): AmqpMessage[] {
  const body = rhea.message.decode(payload).body as Section | undefined;
  if (body === undefined || body === null || body.typecode !== 0x75) throw new Error('a batched message must carry its messages in data sections');
  const parts = body.multiple === true && Array.isArray(body.content) ? (body.content as unknown[]) : [body.content];
  return parts.map((part) => {
    if (!Buffer.isBuffer(part)) throw new Error('a data section of a batched message is not binary');
    return rhea.message.decode(part) as unknown as AmqpMessage;
  });
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

function dateOf(value: string): Date | undefined {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A message for a client (C2D or module input), body as a data section. */
export function toAmqpMessage(message: Message, annotations: Record<string, unknown> = {}): AmqpMessage {
  const sys = message.systemProperties;
  const amqp: AmqpMessage = { body: rhea.message.data_section(Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength)) };
  const get = (name: string): string | undefined => {
    const v = Object.hasOwn(sys, name) ? sys[name] : undefined;
    return v === null || v === undefined ? undefined : v;
  };
  const messageId = get('messageId');
  if (messageId !== undefined) amqp.message_id = messageId;
  const correlationId = get('correlationId');
  if (correlationId !== undefined) amqp.correlation_id = correlationId;
  const contentType = get('contentType');
  if (contentType !== undefined) amqp.content_type = contentType;
  const contentEncoding = get('contentEncoding');
  if (contentEncoding !== undefined) amqp.content_encoding = contentEncoding;
  const to = get('to');
  if (to !== undefined) amqp.to = to;
  const userId = get('userId');
  if (userId !== undefined) amqp.user_id = userId;
  const expiry = get('absolute-expiry-time') ?? get('expiryTimeUtc');
  const expiryDate = expiry === undefined ? undefined : dateOf(expiry);
  if (expiryDate !== undefined) amqp.absolute_expiry_time = expiryDate;
  const created = get('creationTime');
  const createdDate = created === undefined ? undefined : dateOf(created);
  if (createdDate !== undefined) amqp.creation_time = createdDate;
  const ma: Record<string, unknown> = { ...annotations };
  const cdid = get('connectionDeviceId');
  if (cdid !== undefined) ma['iothub-connection-device-id'] = cdid;
  const cmid = get('connectionModuleId');
  if (cmid !== undefined) ma['iothub-connection-module-id'] = cmid;
  if (Object.keys(ma).length > 0) amqp.message_annotations = ma;
  const app: Record<string, string> = {};
  for (const key of Object.keys(message.properties)) {
    const v = message.properties[key];
    if (v !== null && v !== undefined) Object.defineProperty(app, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  if (Object.keys(app).length > 0) amqp.application_properties = app;
  return amqp;
}
