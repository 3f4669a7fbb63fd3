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
