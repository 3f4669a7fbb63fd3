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

/** Bytes of the head of an AMQP data section of `length` bytes (AMQP 1.0 §3.2.6: descriptor 0x75, then vbin8 or vbin32 as rhea writes it). */
const dataSectionHeadLength = (length: number): number => (length <= 255 ? 5 : 8);

/** Writes the head of a data section of `length` bytes into `out` at `pos`; returns the position after it. */
function writeDataSectionHead(out: Buffer, pos: number, length: number): number {
  out[pos] = 0x00;
  out[pos + 1] = 0x53;
  out[pos + 2] = 0x75;
  if (length <= 255) {
    out[pos + 3] = 0xa0;
    out[pos + 4] = length;
    return pos + 5;
  }
  out[pos + 3] = 0xb0;
  out.writeUInt32BE(length, pos + 4);
  return pos + 8;
}

/** The head of an AMQP data section of `length` bytes. */
function dataSectionHead(length: number): Buffer {
  const head = Buffer.allocUnsafe(dataSectionHeadLength(length));
  writeDataSectionHead(head, 0, length);
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

  /** Where the next `append` writes. */
  get position(): number {
    return this.pos;
  }

  /** Forgets what was written (the scratch buffer is kept). */
  reset(): void {
    this.pos = 0;
  }

  /** Bytes `[start, end)` written since the last `reset` (valid until the next `reset`). */
  bytes(start: number, end: number): Buffer {
    return this.buf.subarray(start, end);
  }

  /** Appends `bytes` as they are (a message rhea encoded). */
  append(bytes: Uint8Array): void {
    this.raw(bytes);
  }

  /** Appends the sections before the body of `amqp`. */
  appendHead(amqp: AmqpMessage): void {
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

/** One transfer of `encodeTransfers`: messages `[start, end)` of the send, as one message (format 0) or a batch. */
export interface EventTransfer {
  readonly payload: Buffer;
  readonly format: number;
  readonly start: number;
  readonly end: number;
}

/**
 * `messages` as `toAmqpEvent` messages to `to`, cut into transfers in order: each transfer holds at
 * least one message, then as many as fit in `maxBytes`; one message goes as a plain transfer
 * (format 0), several as a batch (`BATCHED_MESSAGE_FORMAT`). Every message is encoded byte for byte
 * as `rhea.message.encode` writes it (the sections before the body by `HeadWriter`, else by rhea),
 * a batch as rhea writes their data sections. The heads of all messages go into the reused scratch
 * first; then each transfer is written into one buffer of its exact size with each body copied
 * once (rhea, and a batch made of encoded messages, would copy every body two or three times).
 */
export function encodeTransfers(messages: readonly Message[], to: string, maxBytes = MAX_BATCH_BYTES): EventTransfer[] {
  heads.reset();
  const headEnds = new Array<number>(messages.length);
  const bodies = new Array<Buffer | undefined>(messages.length);
  const sizes = new Array<number>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const start = heads.position;
    const amqp = toAmqpEvent(messages[i]!, to);
    if (Object.keys(amqp).every((key) => KNOWN_FIELDS.has(key))) {
      const body = (amqp.body as { content: Buffer }).content;
      heads.appendHead(amqp);
      bodies[i] = body;
      sizes[i] = heads.position - start + dataSectionHeadLength(body.length) + body.length;
    } else {
      heads.append(rhea.message.encode(amqp));
      sizes[i] = heads.position - start;
    }
    headEnds[i] = heads.position;
  }
  const headStart = (i: number): number => (i === 0 ? 0 : headEnds[i - 1]!);
  /** Writes message `i` (its sections, its body's data section) at `pos`; returns the position after it. */
  const writeMessage = (out: Buffer, pos: number, i: number): number => {
    pos += heads.bytes(headStart(i), headEnds[i]!).copy(out, pos);
    const body = bodies[i];
    if (body === undefined) return pos;
    pos = writeDataSectionHead(out, pos, body.length);
    return pos + body.copy(out, pos);
  };
  const transfers: EventTransfer[] = [];
  for (let start = 0; start < messages.length; ) {
    let end = start + 1;
    let bytes = ENVELOPE_HEAD.length + dataSectionHeadLength(sizes[start]!) + sizes[start]!;
    while (end < messages.length && bytes + BATCH_SECTION_OVERHEAD + sizes[end]! <= maxBytes) bytes += dataSectionHeadLength(sizes[end]!) + sizes[end++]!;
    if (end - start === 1) {
      const out = Buffer.allocUnsafe(sizes[start]!);
      writeMessage(out, 0, start);
      transfers.push({ payload: out, format: 0, start, end });
    } else {
      const out = Buffer.allocUnsafe(bytes);
      let pos = ENVELOPE_HEAD.copy(out, 0);
      for (let i = start; i < end; i++) pos = writeMessage(out, writeDataSectionHead(out, pos, sizes[i]!), i);
      transfers.push({ payload: out, format: BATCHED_MESSAGE_FORMAT, start, end });
    }
    start = end;
  }
  return transfers;
}

/** `toAmqpEvent` encoded, byte for byte what `rhea.message.encode` writes, to be sent alone (format 0). */
export function encodeEvent(message: Message, to: string): Buffer {
  return encodeTransfers([message], to)[0]!.payload;
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
