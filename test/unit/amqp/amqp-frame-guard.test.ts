import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AmqpFrameGuard } from '../../../adapters/amqp/amqp-frame-guard.js';

const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

/** A frame of `size` bytes (8-byte header + body), body filled with `fill`. */
function frame(size: number, fill = 0x00): Buffer {
  const buffer = Buffer.alloc(size, fill);
  buffer.writeUInt32BE(size, 0);
  buffer[4] = 2; // doff
  return buffer;
}

test('AMQP frame guard: SASL header, frames, AMQP header, frames pass in any chunking; one limit check per frame', () => {
  // Bodies full of 'A' (0x41): inside a frame they are never taken for a protocol header.
  const stream = Buffer.concat([SASL_HEADER, frame(40, 0x41), frame(8), AMQP_HEADER, frame(500, 0x41), frame(65_536), frame(8)]);
  for (const chunkSize of [1, 2, 5, 8, 9, 1000, stream.length]) {
    let checks = 0;
    const guard = new AmqpFrameGuard(() => {
      checks++;
      return 65_536;
    });
    for (let i = 0; i < stream.length; i += chunkSize) assert.equal(guard.feed(stream.subarray(i, i + chunkSize)), undefined, `chunk size ${chunkSize}`);
    assert.equal(checks, 5, `chunk size ${chunkSize}`);
  }
});

test('AMQP frame guard: a frame declaring 256 MB is refused on its 4-byte size, before any body byte', () => {
  const guard = new AmqpFrameGuard(() => 65_536);
  assert.equal(guard.feed(AMQP_HEADER), undefined);
  assert.equal(guard.feed(Buffer.from([0x10, 0x00])), undefined);
  assert.deepEqual(guard.feed(Buffer.from([0x00, 0x00])), { reason: 'frame-too-large', declared: 256 * 1024 * 1024, limit: 65_536 });
  assert.deepEqual(guard.feed(Buffer.alloc(100)), { reason: 'frame-too-large', declared: 256 * 1024 * 1024, limit: 65_536 }, 'stays refused');
});

test('AMQP frame guard: the largest allowed frame passes, one byte more does not; sizes with the top bit set stay positive', () => {
  assert.equal(new AmqpFrameGuard(() => 1000).feed(Buffer.concat([AMQP_HEADER, frame(1000)])), undefined);
  assert.deepEqual(new AmqpFrameGuard(() => 1000).feed(Buffer.concat([AMQP_HEADER, frame(1001)])), { reason: 'frame-too-large', declared: 1001, limit: 1000 });
  assert.deepEqual(new AmqpFrameGuard(() => 1000).feed(Buffer.concat([AMQP_HEADER, Buffer.from([0xff, 0xff, 0xff, 0xff])])), { reason: 'frame-too-large', declared: 0xffffffff, limit: 1000 });
});

test('AMQP frame guard: a size below the 8-byte frame header is malformed; a third protocol header is read as a size', () => {
  assert.deepEqual(new AmqpFrameGuard(() => 1000).feed(Buffer.concat([AMQP_HEADER, Buffer.from([0, 0, 0, 7])])), { reason: 'frame-too-small', declared: 7 });
  assert.deepEqual(new AmqpFrameGuard(() => 1000).feed(Buffer.concat([SASL_HEADER, AMQP_HEADER, AMQP_HEADER])), { reason: 'frame-too-large', declared: 0x414d5150, limit: 1000 });
});

test('AMQP frame guard: the limit is asked per frame (smaller before authentication)', () => {
  let authenticated = false;
  const guard = new AmqpFrameGuard(() => (authenticated ? 65_536 : 8192));
  assert.equal(guard.feed(Buffer.concat([AMQP_HEADER, frame(8192)])), undefined);
  authenticated = true;
  assert.equal(guard.feed(frame(60_000)), undefined);
  authenticated = false;
  assert.deepEqual(guard.feed(frame(8193)), { reason: 'frame-too-large', declared: 8193, limit: 8192 });
});
