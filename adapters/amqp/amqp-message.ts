import rhea, { type Message as AmqpMessage } from 'rhea';
import { type Message, type Properties, setOwnProperty } from '../../domain/messages/message.js';
import type { JsonValue } from '../../domain/twins/json.js';

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

interface Section {
  typecode?: number;
  content?: unknown;
  multiple?: boolean;
}

/** A number as AMQP `int` when it fits, else `long` (twin versions, status annotations). */
export function intOrLong(n: number): unknown {
  return Number.isInteger(n) && n >= -2_147_483_648 && n <= 2_147_483_647 ? rhea.types.wrap_int(n) : rhea.types.wrap_long(n);
}

/** A JSON value as one data section (twin bodies: the SDK parses `msg.data`). */
export function jsonSection(value: JsonValue): unknown {
  return rhea.message.data_section(Buffer.from(JSON.stringify(value), 'utf8'));
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
    if (t !== null) setOwnProperty(systemProperties, name, t);
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
    else setOwnProperty(properties, key, text(app[key]));
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
 * `toAmqpMessage` encoded for `Sender.send(bytes, undefined, 0)`: byte for byte what
 * `rhea.message.encode(toAmqpMessage(...))` writes (a unit test compares them), but in one
 * exact-size buffer with the body copied once. This is the head's hot path (every module input):
 * rhea's general encoder builds a typed wrapper per field, writes into a zero-filled 1 KiB buffer
 * that it grows to a zero-filled 2 KiB one, and copies the body twice. The fields the hub sends are
 * strings, symbols and timestamps only; anything else (an annotation that is not a string) goes
 * through rhea's encoder.
 */
export function encodeAmqpMessage(message: Message, annotations: Record<string, unknown> = {}): Buffer {
  const headers = amqpHeaders(message, annotations);
  return encodeFast(headers, message.body) ?? encodeWithDataBody(headers, message.body);
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
  const out = Buffer.allocUnsafe(head.length + binarySize(body.byteLength));
  head.copy(out, 0);
  writeDataSection(out, head.length, body);
  return out;
}

// AMQP 1.0 type codes (part 1, §1.6) and section descriptors (part 3, §3.2), as rhea picks them.
const NULL = 0x40;
const LIST0 = 0x45;
const LIST32 = 0xd0;
const MAP32 = 0xd1;
const STR8 = 0xa1;
const STR32 = 0xb1;
const SYM8 = 0xa3;
const SYM32 = 0xb3;
const VBIN8 = 0xa0;
const VBIN32 = 0xb0;
const TIMESTAMP = 0x83;
const SECTION = { header: 0x70, messageAnnotations: 0x72, properties: 0x73, applicationProperties: 0x74, data: 0x75 } as const;

/** The `properties` section's fields in order, with their AMQP type (message.js in rhea). */
type FieldKind = 'string' | 'symbol' | 'binary' | 'timestamp';
const PROPERTY_FIELDS: ReadonlyArray<readonly [keyof AmqpMessage, FieldKind]> = [
  ['message_id', 'string'],
  ['user_id', 'binary'],
  ['to', 'string'],
  ['subject', 'string'],
  ['reply_to', 'string'],
  ['correlation_id', 'string'],
  ['content_type', 'symbol'],
  ['content_encoding', 'symbol'],
  ['absolute_expiry_time', 'timestamp'],
  ['creation_time', 'timestamp'],
];

function variableSize(byteLength: number): number {
  return (byteLength > 255 ? 5 : 2) + byteLength;
}

function binarySize(byteLength: number): number {
  return 3 + variableSize(byteLength); // descriptor 0x00 0x53 0x75 + vbin
}

function writeVariable(out: Buffer, at: number, small: number, large: number, bytes: number): number {
  if (bytes > 255) {
    out[at] = large;
    out.writeUInt32BE(bytes, at + 1);
    return at + 5;
  }
  out[at] = small;
  out[at + 1] = bytes;
  return at + 2;
}

function writeText(out: Buffer, at: number, small: number, large: number, text: string): number {
  const bytes = Buffer.byteLength(text, 'utf8');
  at = writeVariable(out, at, small, large, bytes);
  return at + out.write(text, at, 'utf8');
}

function writeDataSection(out: Buffer, at: number, body: Uint8Array): number {
  out[at++] = 0x00;
  out[at++] = 0x53;
  out[at++] = SECTION.data;
  at = writeVariable(out, at, VBIN8, VBIN32, body.byteLength);
  out.set(body, at);
  return at + body.byteLength;
}

/**
 * Whether `text` is ASCII, which AMQP symbols are (part 1, §1.6.21). rhea writes other text in a
 * symbol one byte per character; the fast encoder leaves such values to rhea (fuzzing found them
 * written as UTF-8 here, unlike rhea). One byte per character in UTF-8 means ASCII.
 */
function isAscii(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length;
}

/**
 * A map of string values (keys symbols or strings) in rhea's encoding, or undefined if a value is
 * not a string or a symbol key is not ASCII.
 */
function mapSize(map: Record<string, unknown>, symbolKeys: boolean): number | undefined {
  let size = 9; // code, size, count
  for (const key in map) {
    const value = map[key];
    if (typeof value !== 'string') return undefined;
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (symbolKeys && keyBytes !== key.length) return undefined;
    size += variableSize(keyBytes) + variableSize(Buffer.byteLength(value, 'utf8'));
  }
  return size;
}

function writeMap(out: Buffer, at: number, section: number, map: Record<string, unknown>, size: number, keyCodes: readonly [number, number]): number {
  out[at++] = 0x00;
  out[at++] = 0x53;
  out[at++] = section;
  out[at] = MAP32;
  out.writeUInt32BE(size - 5, at + 1);
  const countAt = at + 5;
  at += 9;
  let count = 0;
  for (const key in map) {
    at = writeText(out, at, keyCodes[0], keyCodes[1], key);
    at = writeText(out, at, STR8, STR32, map[key] as string);
    count += 2;
  }
  out.writeUInt32BE(count, countAt);
  return at;
}

function fieldSize(kind: FieldKind, value: unknown): number | undefined {
  if (value === undefined || value === null) return 1;
  if (kind === 'timestamp') return value instanceof Date ? 9 : undefined;
  if (typeof value !== 'string' || (kind === 'symbol' && !isAscii(value))) return undefined;
  return variableSize(Buffer.byteLength(value, 'utf8'));
}

function encodeFast(headers: AmqpMessage, body: Uint8Array): Buffer | undefined {
  let last = -1;
  let propertiesSize = 9;
  for (let i = 0; i < PROPERTY_FIELDS.length; i++) {
    const [name, kind] = PROPERTY_FIELDS[i]!;
    const size = fieldSize(kind, headers[name]);
    if (size === undefined) return undefined;
    propertiesSize += size;
    if (headers[name] !== undefined && headers[name] !== null) last = i;
  }
  // rhea sizes a binary by its string length: leave non-ASCII user ids to it.
  if (typeof headers.user_id === 'string' && Buffer.byteLength(headers.user_id, 'utf8') !== headers.user_id.length) return undefined;
  if (last < 0) propertiesSize = 1;
  else for (let i = last + 1; i < PROPERTY_FIELDS.length; i++) propertiesSize -= 1; // trailing nulls are not written
  const annotations = headers.message_annotations as Record<string, unknown> | undefined;
  const annotationsSize = annotations === undefined ? 0 : mapSize(annotations, true);
  const app = headers.application_properties as Record<string, unknown> | undefined;
  const appSize = app === undefined ? 0 : mapSize(app, false);
  if (annotationsSize === undefined || appSize === undefined) return undefined;
  for (const key of Object.keys(headers)) {
    if (!KNOWN_HEADERS.has(key)) return undefined;
  }
  const total = 4 + (annotations === undefined ? 0 : 3 + annotationsSize) + 3 + propertiesSize + (app === undefined ? 0 : 3 + appSize) + binarySize(body.byteLength);
  const out = Buffer.allocUnsafe(total);
  // header: rhea always writes it, empty.
  out[0] = 0x00;
  out[1] = 0x53;
  out[2] = SECTION.header;
  out[3] = LIST0;
  let at = 4;
  if (annotations !== undefined) at = writeMap(out, at, SECTION.messageAnnotations, annotations, annotationsSize, [SYM8, SYM32]);
  out[at++] = 0x00;
  out[at++] = 0x53;
  out[at++] = SECTION.properties;
  if (last < 0) out[at++] = LIST0;
  else {
    out[at] = LIST32;
    out.writeUInt32BE(propertiesSize - 5, at + 1);
    out.writeUInt32BE(last + 1, at + 5);
    at += 9;
    for (let i = 0; i <= last; i++) {
      const [name, kind] = PROPERTY_FIELDS[i]!;
      const value = headers[name] as string | Date | undefined | null;
      if (value === undefined || value === null) out[at++] = NULL;
      else if (kind === 'timestamp') {
        out[at] = TIMESTAMP;
        out.writeBigInt64BE(BigInt((value as Date).getTime()), at + 1);
        at += 9;
      } else if (kind === 'symbol') at = writeText(out, at, SYM8, SYM32, value as string);
      else if (kind === 'binary') at = writeText(out, at, VBIN8, VBIN32, value as string);
      else at = writeText(out, at, STR8, STR32, value as string);
    }
  }
  if (app !== undefined) at = writeMap(out, at, SECTION.applicationProperties, app, appSize, [STR8, STR32]);
  at = writeDataSection(out, at, body);
  if (at !== total) throw new Error(`AMQP encoding size mismatch: ${at} of ${total} bytes`);
  return out;
}

/** The header fields `amqpHeaders` sets (anything else goes through rhea's encoder). */
const KNOWN_HEADERS = new Set<string>([...PROPERTY_FIELDS.map(([name]) => name as string), 'message_annotations', 'application_properties']);

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
    if (Object.hasOwn(annotations, key)) setOwnProperty((ma ??= {}), key, annotations[key]);
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
    if (present(v)) setOwnProperty((app ??= {}), key, v);
  }
  if (app !== undefined) amqp.application_properties = app;
  return amqp;
}
