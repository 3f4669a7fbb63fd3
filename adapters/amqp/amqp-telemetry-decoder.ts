import type { Message as AmqpMessage } from 'rhea';
import type { Message } from '../../domain/messages/message.js';
import { fromAmqpMessage } from './amqp-message.js';

/**
 * The telemetry decoder of the AMQP head's hot path: the bytes of a standard-format (0) delivery
 * to the hub's `Message`, for the messages the IoT SDKs send (an optional header, message
 * annotations, properties and application properties of plain values, one data section).
 *
 * `decodeTelemetry(bytes)` is `fromAmqpMessage(rhea.message.decode(bytes))` or `undefined`: it
 * reads only the fields `fromAmqpMessage` maps, as rhea reads them (same values, same key order),
 * and hands them to `fromAmqpMessage` itself, so the mapping stays in one place. Anything else
 * (another section, a section out of the usual order or twice, a composite or unknown value, a
 * long number, bytes out of bounds, a `__proto__` key) returns `undefined` and the caller decodes
 * with rhea as before, errors included: this path never decides what rhea would refuse. A fuzz
 * test holds both paths equal. What it saves per message: rhea's typed wrapper per value, the
 * composite objects per section, and the `Message` object with its section objects.
 */

const SECTION = { header: 0x70, messageAnnotations: 0x72, properties: 0x73, applicationProperties: 0x74, data: 0x75 } as const;
/** The properties fields `fromAmqpMessage` reads, by list index (AMQP 1.0 part 3, §3.2.4). */
const PROPERTY_NAMES: ReadonlyArray<keyof AmqpMessage | undefined> = ['message_id', 'user_id', 'to', undefined, undefined, 'correlation_id', 'content_type', 'content_encoding', 'absolute_expiry_time', 'creation_time'];
/** The message annotations `fromAmqpMessage` keeps. */
const KEPT_ANNOTATIONS = new Set(['dt-subject', 'iothub-interface-id']);
/** rhea reads a 64-bit integer as a number only when its high word is within this bound (else a Buffer). */
const LONG_HIGH_WORD_LIMIT = 2_097_153;

/** Why the fast path gives up: the caller then uses rhea. Thrown and caught inside this module only. */
class NotFast extends Error {}
const notFast = new NotFast();

class Bytes {
  position = 0;
  constructor(readonly buffer: Buffer) {}

  byte(): number {
    if (this.position >= this.buffer.length) throw notFast;
    return this.buffer[this.position++]!;
  }

  uint(width: 1 | 4): number {
    if (this.position + width > this.buffer.length) throw notFast;
    const value = width === 1 ? this.buffer[this.position]! : this.buffer.readUInt32BE(this.position);
    this.position += width;
    return value;
  }

  slice(length: number): Buffer {
    const end = this.position + length;
    if (end > this.buffer.length) throw notFast;
    const slice = this.buffer.subarray(this.position, end);
    this.position = end;
    return slice;
  }

  /** `size` and `count` of a list8/list32/map8/map32 (rhea reads `count` values and ignores `size`). */
  count(code: number): number {
    const width = code === 0xc0 || code === 0xc1 ? 1 : 4;
    this.uint(width);
    return this.uint(width);
  }
}

/** Width of the fixed-size primitive types rhea knows (by type code), or undefined. */
function fixedWidth(code: number): number | undefined {
  switch (code) {
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45:
      return 0;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56:
      return 1;
    case 0x60: case 0x61:
      return 2;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74:
      return 4;
    case 0x80: case 0x81: case 0x82: case 0x83: case 0x84:
      return 8;
    case 0x94: case 0x98:
      return 16;
    default:
      return undefined;
  }
}

/**
 * One plain value as rhea unwraps it: null, booleans, strings (str as UTF-8, sym as ASCII),
 * binaries and uuids (Buffers), small integers, timestamps (Dates). Skippable but unsupported
 * values (floats, decimals, chars, longs) come back as `SKIPPED`; composites and unknown codes
 * give up.
 */
const SKIPPED = Symbol('skipped');
function readPlain(input: Bytes): unknown {
  const code = input.byte();
  switch (code) {
    case 0x40: return null;
    case 0x41: return true;
    case 0x42: return false;
    case 0x43: return 0;
    case 0x50: case 0x52: return input.uint(1);
    case 0x51: case 0x54: return input.slice(1).readInt8(0);
    case 0x60: return input.slice(2).readUInt16BE(0);
    case 0x61: return input.slice(2).readInt16BE(0);
    case 0x70: return input.uint(4);
    case 0x71: return input.slice(4).readInt32BE(0);
    case 0x83: return timestamp(input.slice(8));
    case 0x98: return input.slice(16);
    case 0xa0: return input.slice(input.uint(1));
    case 0xb0: return input.slice(input.uint(4));
    case 0xa1: return input.slice(input.uint(1)).toString('utf8');
    case 0xb1: return input.slice(input.uint(4)).toString('utf8');
    case 0xa3: return ascii(input.slice(input.uint(1)));
    case 0xb3: return ascii(input.slice(input.uint(4)));
  }
  const width = fixedWidth(code);
  if (width === undefined) throw notFast;
  input.slice(width);
  return SKIPPED;
}

/** rhea's `read_timestamp`; dates it would not read as a number, or that are invalid, give up. */
function timestamp(bytes: Buffer): Date {
  const high = bytes.readInt32BE(0);
  if (high >= LONG_HIGH_WORD_LIMIT || high <= -LONG_HIGH_WORD_LIMIT) throw notFast;
  const date = new Date(high * 4_294_967_296 + bytes.readUInt32BE(4));
  if (Number.isNaN(date.getTime())) throw notFast;
  return date;
}

/** A symbol: ASCII only (rhea decodes symbols as 'ascii', which differs from UTF-8 past 0x7f). */
function ascii(bytes: Buffer): string {
  for (const byte of bytes) if (byte > 0x7f) throw notFast;
  return bytes.toString('latin1');
}

/** A plain value `fromAmqpMessage` reads: anything `readPlain` skipped gives up. */
function readValue(input: Bytes): unknown {
  const value = readPlain(input);
  if (value === SKIPPED) throw notFast;
  return value;
}

function listCount(input: Bytes): number {
  const code = input.byte();
  if (code === 0x45) return 0;
  if (code !== 0xc0 && code !== 0xd0) throw notFast;
  return input.count(code);
}

/** A map of string or symbol keys, as rhea's `mapify` builds it (`keep` picks the entries read; the others are skipped). */
function readMap(input: Bytes, keep: (key: string) => boolean): Record<string, unknown> {
  const code = input.byte();
  if (code !== 0xc1 && code !== 0xd1) throw notFast;
  const count = input.count(code);
  if (count % 2 !== 0) throw notFast;
  const map: Record<string, unknown> = {};
  for (let i = 0; i < count; i += 2) {
    const key = readValue(input);
    if (typeof key !== 'string' || key === '__proto__') throw notFast;
    if (keep(key)) map[key] = readValue(input);
    else readPlain(input);
  }
  return map;
}

function readProperties(input: Bytes, amqp: Record<string, unknown>): void {
  const count = listCount(input);
  for (let i = 0; i < count; i++) {
    const name = PROPERTY_NAMES[i];
    if (name === undefined) {
      readPlain(input);
      continue;
    }
    const value = readValue(input);
    if (value !== null) amqp[name] = value;
  }
}

/** `fromAmqpMessage(rhea.message.decode(bytes))`, or undefined where only rhea should decide. */
export function decodeTelemetry(bytes: Buffer): Message | undefined {
  const input = new Bytes(bytes);
  const amqp: Record<string, unknown> = {};
  let last = 0;
  try {
    while (input.position < bytes.length) {
      if (input.byte() !== 0x00 || input.byte() !== 0x53) return undefined;
      const section = input.byte();
      // One data section, last; the others at most once, in the order of the specification.
      if (section <= last || last === SECTION.data) return undefined;
      last = section;
      switch (section) {
        case SECTION.header:
          for (let i = listCount(input); i > 0; i--) readPlain(input);
          break;
        case SECTION.messageAnnotations:
          amqp['message_annotations'] = readMap(input, (key) => KEPT_ANNOTATIONS.has(key));
          break;
        case SECTION.properties:
          readProperties(input, amqp);
          break;
        case SECTION.applicationProperties:
          amqp['application_properties'] = readMap(input, () => true);
          break;
        case SECTION.data: {
          const code = input.byte();
          if (code !== 0xa0 && code !== 0xb0) return undefined;
          amqp['body'] = input.slice(input.uint(code === 0xa0 ? 1 : 4));
          break;
        }
        default:
          return undefined;
      }
    }
  } catch (error) {
    if (error instanceof NotFast) return undefined;
    throw error;
  }
  if (last !== SECTION.data) return undefined;
  try {
    return fromAmqpMessage(amqp as unknown as AmqpMessage);
  } catch {
    return undefined; // the rhea path maps it again and refuses it as it always did (amqp:decode-error)
  }
}
