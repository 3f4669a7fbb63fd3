import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import rhea from 'rhea';
import { type RheaFrame, writeFrame } from '../../../adapters/amqp/amqp-frame-writer.js';

// rhea's own frame codec: `writeFrame` must write exactly what it writes.
const rheaRequire = createRequire(createRequire(import.meta.url).resolve('rhea'));
const frames = rheaRequire('./frames.js') as Record<string, (fields?: Record<string, unknown>) => unknown> & {
  write_frame(frame: RheaFrame): Buffer;
  amqp_frame(channel: number, performative: unknown, payload?: Buffer): RheaFrame;
  sasl_frame(performative: unknown): RheaFrame;
};

function agree(frame: RheaFrame): void {
  const reference = frames.write_frame(frame);
  for (const split of [false, true]) {
    const chunks = writeFrame(frame, split);
    assert.equal(Buffer.concat(chunks).toString('hex'), reference.toString('hex'));
    // One buffer, unless split with a payload of 512 bytes or more: then the head and the payload itself.
    const payload = frame.performative === undefined ? undefined : frame.payload;
    if (split && payload !== undefined && payload.length >= 512) {
      assert.equal(chunks.length, 2);
      assert.equal(chunks[1], payload);
    } else assert.equal(chunks.length, 1);
  }
}

const payload = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));

test('frame writer: transfers of every payload size (0 B to past the 4 KiB scratch and 64 KiB) are written as rhea writes them', () => {
  for (const size of [0, 1, 511, 512, 700, 1024, 1100, 2048, 4000, 5000, 65_536, 70_000]) {
    for (const settled of [false, true]) {
      const transfer = frames['transfer']!({ handle: 3, message_format: 0, delivery_id: 70_000 + size, delivery_tag: Buffer.from([1, 2, 3, 4]), settled, more: size > 4000 });
      agree(frames.amqp_frame(size % 7, transfer, payload(size)));
    }
  }
});

test('frame writer: the other performatives, empty (heartbeat) and SASL frames are written as rhea writes them', () => {
  const error = { condition: 'amqp:unauthorized-access', description: 'x'.repeat(5000) };
  agree(frames.amqp_frame(0, frames['open']!({ container_id: 'edgeport', max_frame_size: 65_536, idle_time_out: 240_000 })));
  agree(frames.amqp_frame(1, frames['begin']!({ remote_channel: 1, next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 4_294_967_295 })));
  agree(frames.amqp_frame(1, frames['flow']!({ handle: 2, delivery_count: 10, link_credit: 1000, next_incoming_id: 5, incoming_window: 2048, next_outgoing_id: 3, outgoing_window: 100 })));
  agree(frames.amqp_frame(1, frames['disposition']!({ role: true, first: 1, last: 300, settled: true, state: (rhea.message as unknown as { accepted(): { described(): unknown } }).accepted().described() })));
  agree(frames.amqp_frame(1, frames['detach']!({ handle: 2, closed: true, error })));
  agree({ type: 0x00, channel: 0 });
  agree(frames.sasl_frame(frames['sasl_outcome']!({ code: 0 })));
});
