import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type AmqpFrameViolation, AmqpFrameGuard } from '../../adapters/amqp/amqp-frame-guard.js';
import { chunkSizes, feedChunked } from './arbitraries.js';
import { fuzzFixtures, fuzzParameters } from './fuzz-fixtures.js';

// Fuzz target: the AMQP frame guard (adapters/amqp/amqp-frame-guard.ts): valid streams (protocol
// headers and frames of any size and content) pass with one check per frame, any bytes give the
// same finding however they are chunked, and no frame over the limit passes.

const TARGET = 'amqp-frame-guard';
const SASL_HEADER = Buffer.from('AMQP\x03\x01\x00\x00', 'latin1');
const AMQP_HEADER = Buffer.from('AMQP\x00\x01\x00\x00', 'latin1');

function run(bytes: Uint8Array, sizes: readonly number[], limit: number): { violation: AmqpFrameViolation | undefined; checks: number } {
  let checks = 0;
  const guard = new AmqpFrameGuard(() => {
    checks++;
    return limit;
  });
  return { violation: feedChunked(bytes, sizes, (chunk) => guard.feed(chunk)), checks };
}

const frame = fc.uint8Array({ maxLength: 3_000 }).map((body) => {
  const bytes = Buffer.alloc(8 + body.length);
  bytes.writeUInt32BE(bytes.length, 0);
  bytes[4] = 2;
  Buffer.from(body).copy(bytes, 8);
  return bytes;
});

test('fuzz amqp-frame-guard: replayed fixtures', () => {
  for (const { name, input } of fuzzFixtures<{ bytes: string; limit: number }>(TARGET)) {
    const bytes = Buffer.from(input.bytes, 'base64');
    assert.deepEqual(run(bytes, [1], input.limit), run(bytes, [], input.limit), name);
  }
});

test('fuzz amqp-frame-guard: SASL and AMQP headers with frames of any content pass in any chunking, one check per frame', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(frame, { maxLength: 4 }), fc.array(frame, { maxLength: 6 }), chunkSizes, (sasl, saslFrames, amqpFrames, sizes) => {
      const stream = Buffer.concat(sasl ? [SASL_HEADER, ...saslFrames, AMQP_HEADER, ...amqpFrames] : [AMQP_HEADER, ...amqpFrames]);
      const result = run(stream, sizes, 3_008);
      assert.equal(result.violation, undefined);
      assert.equal(result.checks, (sasl ? saslFrames.length : 0) + amqpFrames.length);
    }),
    fuzzParameters(3_000, 1 / 2),
  );
});

test('fuzz amqp-frame-guard: any bytes give the same finding however chunked; no frame over the limit passes', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 2_000 }), chunkSizes, fc.integer({ min: 8, max: 3_000 }), (header, tail, sizes, limit) => {
      const bytes = header ? Buffer.concat([AMQP_HEADER, tail]) : Buffer.from(tail);
      const whole = run(bytes, [], limit);
      assert.deepEqual(run(bytes, sizes, limit), whole);
      if (whole.violation?.reason === 'frame-too-large') assert.ok(whole.violation.declared > limit);
      if (whole.violation?.reason === 'frame-too-small') assert.ok(whole.violation.declared < 8);
    }),
    fuzzParameters(5_000, 1 / 2),
  );
});
