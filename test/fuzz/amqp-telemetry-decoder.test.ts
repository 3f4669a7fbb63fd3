import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import rhea, { type Message as AmqpMessage } from 'rhea';
import type { Message } from '../../domain/messages/message.js';
import { fromAmqpMessage } from '../../adapters/amqp/amqp-message.js';
import { decodeTelemetry } from '../../adapters/amqp/amqp-telemetry-decoder.js';
import { codeUnit } from './arbitraries.js';
import { fuzzParameters } from './fuzz-fixtures.js';

// Fuzz target: the AMQP head's telemetry decoder (adapters/amqp/amqp-telemetry-decoder.ts). For
// any bytes it must give exactly what rhea's decoder and `fromAmqpMessage` give (same values, same
// key order), or give up (undefined) and leave the bytes to rhea; where rhea throws, it must give up.

const text = fc.oneof(fc.string({ unit: codeUnit, maxLength: 12 }), fc.string({ minLength: 250, maxLength: 260 }), fc.constantFrom('__proto__', '1', '007', 'iothub-outputname', 'dt-subject', 'iothub-interface-id'));
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((n) => String.fromCharCode(n)), maxLength: 12 });
const t = rhea.types;
/** The values the IoT SDKs put in properties (the fast path must read these, and read them right). */
const sdkValues: Array<fc.Arbitrary<unknown>> = [
  text,
  ascii.map((s) => t.wrap_symbol(s)),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -2_147_483_648, max: 4_294_967_295 }),
  fc.integer({ min: -128, max: 127 }).map((n) => t.wrap_byte(n)),
  fc.integer({ min: 0, max: 65_535 }).map((n) => t.wrap_ushort(n)),
  fc.integer({ min: -32_768, max: 32_767 }).map((n) => t.wrap_short(n)),
];
/** Values of every kind a client may put in properties and maps, typed as rhea would write them. */
const value: fc.Arbitrary<unknown> = fc.oneof(
  ...sdkValues,
  fc.double({ noNaN: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => t.wrap_long(Number(n))),
  fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 }).map((ms) => new Date(ms)),
  fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => t.wrap_uuid(Buffer.from(b))),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(ascii, fc.integer(), { maxKeys: 2 }),
);
const id = fc.oneof(text, fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => t.wrap_uuid(Buffer.from(b))), fc.integer({ min: 0 }).map((n) => t.wrap_ulong(n)), fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)));
const date = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms));
const body = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => rhea.message.data_section(Buffer.from(b))) },
  fc.array(fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)), { minLength: 1, maxLength: 3 }).map((parts) => rhea.message.data_sections(parts)),
  text,
  fc.constant(undefined),
);

/** What the IoT SDKs send: the values and sections the fast path reads (it must read these, and read them right). */
const plain: fc.Arbitrary<unknown> = fc.oneof(...sdkValues, date, fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)));
const sdkMessage = fc.record(
  {
    durable: fc.boolean(),
    message_id: fc.oneof(text, fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => t.wrap_uuid(Buffer.from(b)))),
    user_id: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
    to: text,
    subject: text,
    correlation_id: text,
    content_type: ascii,
    content_encoding: ascii,
    absolute_expiry_time: date,
    creation_time: date,
    message_annotations: fc.dictionary(fc.oneof(ascii, fc.constantFrom('dt-subject', 'iothub-interface-id', 'x-opt-input-name')), plain, { maxKeys: 4 }),
    application_properties: fc.dictionary(text, plain, { maxKeys: 6 }),
    // Mostly one data section; the other bodies must be left to rhea.
    body: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => rhea.message.data_section(Buffer.from(b))) }, body),
  },
  { requiredKeys: ['body'] },
);
const anyMessage = fc.record(
  {
    durable: fc.boolean(),
    priority: fc.integer({ min: 0, max: 9 }),
    message_id: id,
    user_id: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
    to: text,
    subject: text,
    reply_to: text,
    correlation_id: id,
    content_type: ascii,
    content_encoding: ascii,
    absolute_expiry_time: date,
    creation_time: date,
    group_id: text,
    group_sequence: fc.integer({ min: 0, max: 4_294_967_295 }),
    delivery_annotations: fc.dictionary(ascii, value, { maxKeys: 2 }),
    message_annotations: fc.dictionary(fc.oneof(ascii, fc.constantFrom('dt-subject', 'iothub-interface-id', 'x-opt-input-name')), value, { maxKeys: 4 }),
    application_properties: fc.dictionary(text, value, { maxKeys: 6 }),
    footer: fc.dictionary(ascii, value, { maxKeys: 2 }),
    body,
  },
  { requiredKeys: [] },
);
const amqpMessage = fc.oneof(sdkMessage, anyMessage);

/** A message with its key order (deepEqual ignores it; the order is the order of properties stored and forwarded). */
function ordered(message: Message): unknown {
  return { body: Buffer.from(message.body).toString('hex'), properties: Object.entries(message.properties), systemProperties: Object.entries(message.systemProperties) };
}

/** rhea's verdict on `bytes`: the message, or the error it throws. */
function reference(bytes: Buffer): { message: Message } | { error: unknown } {
  try {
    return { message: fromAmqpMessage(rhea.message.decode(bytes) as unknown as AmqpMessage) };
  } catch (error) {
    return { error };
  }
}

/** rhea's encoding of `m`; messages rhea cannot write (some longs) are not inputs. */
function encode(m: unknown): Buffer {
  let bytes: Buffer | undefined;
  try {
    bytes = rhea.message.encode(m as AmqpMessage);
  } catch {
    fc.pre(false);
  }
  return bytes!;
}

function agrees(bytes: Buffer): boolean {
  const fast = decodeTelemetry(bytes);
  if (fast === undefined) return false;
  const expected = reference(bytes);
  assert.ok('message' in expected, `rhea refuses what the fast decoder read: ${String((expected as { error: unknown }).error)}`);
  assert.deepEqual(ordered(fast), ordered(expected.message));
  return true;
}

test('fuzz amqp-telemetry-decoder: any message rhea writes is read as rhea and fromAmqpMessage read it, or left to them', () => {
  let fast = 0;
  let runs = 0;
  fc.assert(
    fc.property(amqpMessage, (m) => {
      runs++;
      if (agrees(encode(m))) fast++;
    }),
    fuzzParameters(3_000, 1 / 2),
  );
  // Every SDK-shaped message (half the inputs) takes the fast path.
  assert.ok(fast > runs / 3, `the fast path ran for ${fast} of ${runs} messages`);
});

test('fuzz amqp-telemetry-decoder: damaged bytes are read as rhea reads them, or left to rhea (never read where rhea throws)', () => {
  const warn = console.warn;
  console.warn = () => {}; // rhea warns on unknown sections
  try {
    fc.assert(
      fc.property(amqpMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (m, edits, cut) => {
        const bytes = Buffer.from(encode(m));
        for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        agrees(bytes);
        agrees(bytes.subarray(0, cut % (bytes.length + 1)));
      }),
      fuzzParameters(3_000, 1 / 2),
    );
  } finally {
    console.warn = warn;
  }
});
