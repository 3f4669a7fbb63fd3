import rhea, { type Message as AmqpMessage } from 'rhea';
import { SystemProperty, type Message, type Properties } from '../../domain/messages/message.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A message id as the SDK sends it: an AMQP uuid when it looks like one, else a string. */
export function amqpId(id: string): string | Buffer {
  return UUID.test(id) ? rhea.string_to_uuid(id) : id;
}

/** A received id (uuid, string, number, binary) as text. */
export function idText(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (Buffer.isBuffer(id)) return id.length === 16 ? rhea.uuid_to_string(id) : id.toString('hex');
  return String(id);
}

/** The body of a received message as bytes (data section, amqp-value string or buffer). */
export function bodyBytes(message: AmqpMessage): Uint8Array {
  const body: unknown = message.body;
  if (body === undefined || body === null) return new Uint8Array();
  if (typeof body === 'object' && body !== null && 'typecode' in body && 'content' in body) {
    const content = (body as { content: unknown }).content;
    if (Buffer.isBuffer(content)) return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
    if (typeof content === 'string') return new TextEncoder().encode(content);
  }
  if (Buffer.isBuffer(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  return new TextEncoder().encode(JSON.stringify(body));
}

const ANNOTATION_SYSTEM = ['dt-subject', 'iothub-interface-id'] as const;

/**
 * A stored message as the device SDK would send it upstream (iot-sdk-protocol.md §3.4):
 * id fields, content type/encoding, expiry, application properties, output name as
 * `iothub-outputname`, `dt-subject`/interface id as annotations, body as a data section.
 */
export function toAmqpEvent(message: Message, to: string): AmqpMessage {
  const sys = message.systemProperties;
  const out: AmqpMessage = { to, body: rhea.message.data_section(Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength)) };
  if (sys[SystemProperty.messageId] != null) out.message_id = amqpId(sys[SystemProperty.messageId]!);
  if (sys[SystemProperty.correlationId] != null) out.correlation_id = amqpId(sys[SystemProperty.correlationId]!);
  if (sys[SystemProperty.contentType] != null) out.content_type = sys[SystemProperty.contentType]!;
  if (sys[SystemProperty.contentEncoding] != null) out.content_encoding = sys[SystemProperty.contentEncoding]!;
  const expiry = sys[SystemProperty.expiryTimeUtc];
  if (expiry != null && !Number.isNaN(Date.parse(expiry))) out.absolute_expiry_time = new Date(expiry);
  const app: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.properties)) if (v !== null) app[k] = v;
  if (sys[SystemProperty.outputName] != null) app['iothub-outputname'] = sys[SystemProperty.outputName]!;
  if (Object.keys(app).length > 0) out.application_properties = app;
  const annotations: Record<string, string> = {};
  for (const name of ANNOTATION_SYSTEM) if (sys[name] != null) annotations[name] = sys[name]!;
  if (Object.keys(annotations).length > 0) out.message_annotations = annotations;
  return out;
}

/** A cloud-to-device message as the hub stores it. */
export function fromAmqpC2d(message: AmqpMessage): Message {
  const systemProperties: Properties = {};
  const messageId = idText(message.message_id);
  if (messageId !== undefined) systemProperties[SystemProperty.messageId] = messageId;
  const correlationId = idText(message.correlation_id);
  if (correlationId !== undefined) systemProperties[SystemProperty.correlationId] = correlationId;
  if (message.to !== undefined) systemProperties[SystemProperty.to] = String(message.to);
  if (message.user_id !== undefined) systemProperties[SystemProperty.userId] = Buffer.isBuffer(message.user_id) ? message.user_id.toString('utf8') : String(message.user_id);
  if (message.content_type !== undefined) systemProperties[SystemProperty.contentType] = String(message.content_type);
  if (message.content_encoding !== undefined) systemProperties[SystemProperty.contentEncoding] = String(message.content_encoding);
  if (message.absolute_expiry_time !== undefined) systemProperties[SystemProperty.expiryTimeUtc] = new Date(message.absolute_expiry_time as unknown as number).toISOString();
  const properties: Properties = {};
  for (const [k, v] of Object.entries(message.application_properties ?? {})) if (v !== undefined) properties[k] = v === null ? null : String(v);
  return { body: bodyBytes(message), properties, systemProperties };
}

/**
 * IoT Hub's batched message format (`AmqpConstants.AmqpBatchedMessageFormat`; 0x137 is Microsoft's
 * IANA number): one transfer whose body holds one data section per message, each a complete
 * encoded AMQP message. The C# device SDK's `SendEventAsync(IEnumerable<Message>)` sends it, and
 * edgeHub sends its upstream batches with it; IoT Hub settles the batch with one outcome.
 */
export const BATCHED_MESSAGE_FORMAT = 0x80013700;

/** IoT Hub's largest device-to-cloud message, which bounds a batch too (edgeHub caps its upstream batches at it). */
export const MAX_BATCH_BYTES = 256 * 1024;

/** Bytes a data section adds around an encoded message in a batch (descriptor and a 4-byte length). */
export const BATCH_SECTION_OVERHEAD = 8;

/** The head of an AMQP data section (AMQP 1.0 §3.2.6: descriptor 0x75, then vbin8 or vbin32 as rhea writes it). */
function dataSectionHead(length: number): Buffer {
  if (length <= 255) return Buffer.from([0x00, 0x53, 0x75, 0xa0, length]);
  const head = Buffer.allocUnsafe(8);
  head[0] = 0x00;
  head[1] = 0x53;
  head[2] = 0x75;
  head[3] = 0xb0;
  head.writeUInt32BE(length, 4);
  return head;
}

const EMPTY_BODY = rhea.message.data_section(Buffer.alloc(0));
const EMPTY_SECTION = dataSectionHead(0);
/** What rhea writes before the body of a message with no properties (empty header and properties sections). */
const ENVELOPE_HEAD = ((encoded: Buffer) => encoded.subarray(0, encoded.length - EMPTY_SECTION.length))(rhea.message.encode({ body: EMPTY_BODY }));

/**
 * `toAmqpEvent` encoded, byte for byte what `rhea.message.encode` writes, ready to be sent alone
 * (format 0) or put in a batch. rhea writes the body into a zero-filled buffer that starts at
 * 1 KB and doubles, copying at each step; here rhea encodes the small sections before the body
 * and the body is appended with a single copy.
 */
export function encodeEvent(message: Message, to: string): Buffer {
  const amqp = toAmqpEvent(message, to);
  const body = (amqp.body as { content: Buffer }).content;
  amqp.body = EMPTY_BODY;
  const encoded = rhea.message.encode(amqp);
  const sections = encoded.subarray(0, encoded.length - EMPTY_SECTION.length);
  const head = dataSectionHead(body.length);
  return Buffer.concat([sections, head, body], sections.length + head.length + body.length);
}

/** A transfer payload in `BATCHED_MESSAGE_FORMAT` holding `encoded` messages in order (what `rhea.message.encode` writes for their data sections). */
export function encodeBatch(encoded: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [ENVELOPE_HEAD];
  let length = ENVELOPE_HEAD.length;
  for (const message of encoded) {
    const head = dataSectionHead(message.length);
    parts.push(head, message);
    length += head.length + message.length;
  }
  return Buffer.concat(parts, length);
}
