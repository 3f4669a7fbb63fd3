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

/** What rhea writes before the body of a message with no properties (empty header and properties sections). */
const ENVELOPE_HEAD = ((encoded: Buffer) => encoded.subarray(0, encoded.length - dataSectionHead(0).length))(rhea.message.encode({ body: rhea.message.data_section(Buffer.alloc(0)) }));

/** The `properties` fields `toAmqpEvent` sets, by their position in the AMQP properties list. */
const PROPERTY_FIELDS = [
  ['message_id', 0],
  ['to', 2],
  ['correlation_id', 5],
  ['content_type', 6],
  ['content_encoding', 7],
  ['absolute_expiry_time', 8],
] as const;
const SYMBOL_FIELDS = new Set(['content_type', 'content_encoding']);
/** Field name at each position of the properties list (undefined: a field `toAmqpEvent` never sets). */
const FIELD_AT: Array<string | undefined> = [];
for (const [name, index] of PROPERTY_FIELDS) FIELD_AT[index] = name;
const KNOWN_FIELDS = new Set(['body', 'application_properties', 'message_annotations', ...PROPERTY_FIELDS.map(([name]) => name)]);

/**
 * Writes the sections of a `toAmqpEvent` message before its body exactly as `rhea.message.encode`
 * does (the test compares them byte for byte): empty header, message annotations (map32 of symbol
 * to string), properties (list32 up to the last field set; str8/str32, sym8/sym32, uuid,
 * timestamp), application properties (map32 of string to string). rhea builds a typed object per
 * field and writes into a zero-filled buffer that starts at 1 KB; this is the upstream's hottest
 * path (every message), so it writes into a reused scratch buffer.
 */
class HeadWriter {
  private buf = Buffer.allocUnsafe(4096);
  private pos = 0;

  /** Writes the sections before the body of `amqp` and returns them (valid until the next call). */
  encode(amqp: AmqpMessage): Buffer {
    this.pos = 0;
    this.raw(ENVELOPE_HEAD.subarray(0, 4)); // header: described list0
    const annotations = amqp.message_annotations as Record<string, string> | undefined;
    if (annotations !== undefined) this.map(0x72, annotations, true);
    const fields = amqp as unknown as Record<string, unknown>;
    let count = 0;
    for (const [name, index] of PROPERTY_FIELDS) if (fields[name] !== undefined) count = index + 1;
    this.described(0x73);
    const size = this.compound(0xd0, count);
    for (let i = 0; i < count; i++) {
      const name = FIELD_AT[i];
      const value = name === undefined ? undefined : fields[name];
      if (value === undefined || value === null) this.byte(0x40);
      else if (value instanceof Date) {
        this.ensure(9);
        this.buf[this.pos] = 0x83;
        this.buf.writeBigInt64BE(BigInt(value.getTime()), this.pos + 1);
        this.pos += 9;
      } else if (Buffer.isBuffer(value) && value.length === 16) {
        this.byte(0x98);
        this.raw(value);
      } else this.text(String(value), name !== undefined && SYMBOL_FIELDS.has(name));
    }
    this.close(size);
    const app = amqp.application_properties as Record<string, string> | undefined;
    if (app !== undefined) this.map(0x74, app, false);
    return this.buf.subarray(0, this.pos);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  private byte(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  private raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private described(code: number): void {
    this.ensure(3);
    this.buf[this.pos++] = 0x00;
    this.buf[this.pos++] = 0x53;
    this.buf[this.pos++] = code;
  }

  /** Opens a list32/map32 of `count` items; returns where its size goes. */
  private compound(code: number, count: number): number {
    this.ensure(9);
    this.buf[this.pos++] = code;
    const size = this.pos;
    this.buf.writeUInt32BE(count, this.pos + 4);
    this.pos += 8;
    return size;
  }

  private close(size: number): void {
    this.buf.writeUInt32BE(this.pos - size - 4, size);
  }

  /** str8/str32 (or sym8/sym32), as rhea picks by the UTF-8 length. */
  private text(value: string, symbol: boolean): void {
    const length = Buffer.byteLength(value);
    this.ensure(5 + length);
    if (length <= 255) {
      this.buf[this.pos++] = symbol ? 0xa3 : 0xa1;
      this.buf[this.pos++] = length;
    } else {
      this.buf[this.pos++] = symbol ? 0xb3 : 0xb1;
      this.buf.writeUInt32BE(length, this.pos);
      this.pos += 4;
    }
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  private map(code: number, entries: Record<string, string>, symbolKeys: boolean): void {
    const keys = Object.keys(entries);
    this.described(code);
    const size = this.compound(0xd1, keys.length * 2);
    for (const key of keys) {
      this.text(key, symbolKeys);
      this.text(entries[key]!, false);
    }
    this.close(size);
  }
}

const heads = new HeadWriter();

/**
 * `toAmqpEvent` encoded, byte for byte what `rhea.message.encode` writes, ready to be sent alone
 * (format 0) or put in a batch: the sections before the body by `HeadWriter`, then the body's data
 * section with a single copy (rhea would copy it into a doubling zero-filled buffer). A message
 * with anything `HeadWriter` does not write goes through rhea.
 */
export function encodeEvent(message: Message, to: string): Buffer {
  const amqp = toAmqpEvent(message, to);
  for (const key of Object.keys(amqp)) if (!KNOWN_FIELDS.has(key)) return rhea.message.encode(amqp);
  const body = (amqp.body as { content: Buffer }).content;
  const sections = heads.encode(amqp);
  const head = dataSectionHead(body.length);
  const out = Buffer.allocUnsafe(sections.length + head.length + body.length);
  sections.copy(out, 0);
  head.copy(out, sections.length);
  body.copy(out, sections.length + head.length);
  return out;
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
