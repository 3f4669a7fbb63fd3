/**
 * Frame guard benchmark: `npm run bench:guard [-- --packets=20000 --body=1024 --rounds=7]`.
 * What the hub's frame guards add per packet, beside what the protocol libraries already spend on
 * the same bytes in the same run: the MQTT guard (`MqttFrameGuard`, every packet's fixed header)
 * against mqtt-packet's parser (what aedes runs on every packet), the AMQP guard
 * (`AmqpFrameGuard`, every frame's size) against rhea's decoding of the messages in those frames.
 * The stream is fed in 64 KiB chunks, as a socket delivers it. Medians over `--rounds`. The last
 * line is `frame guards: MQTT guard/parse = R1, AMQP guard/decode = R2`.
 */
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';
import rhea from 'rhea';
import { MqttFrameGuard } from '../adapters/mqtt/mqtt-frame-guard.js';
import { AmqpFrameGuard } from '../adapters/amqp/amqp-frame-guard.js';
import { arg } from './bench-args.js';

const PACKETS = arg('packets', 20_000);
const BODY = arg('body', 1024);
const ROUNDS = arg('rounds', 7);
const CHUNK = 64 * 1024;

function chunks(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += CHUNK) out.push(stream.subarray(i, i + CHUNK));
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Nanoseconds per packet of `run`, median over ROUNDS (after one warm-up round). */
function timed(run: () => void): number {
  run();
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    run();
    samples.push(((performance.now() - start) * 1e6) / PACKETS);
  }
  return median(samples);
}

/** Nanoseconds per packet of a fresh guard fed `stream`; it must check exactly PACKETS packets and refuse none. */
function guardCost(stream: Buffer[], make: (limit: () => number) => { feed(chunk: Uint8Array): unknown }, limit: number): number {
  return timed(() => {
    let checks = 0;
    const guard = make(() => {
      checks++;
      return limit;
    });
    for (const chunk of stream) if (guard.feed(chunk) !== undefined) throw new Error('refused');
    if (checks !== PACKETS) throw new Error(`checked ${checks} packets`);
  });
}

const payload = Buffer.alloc(BODY, 0x61);
const mqttStream = chunks(Buffer.concat(Array.from({ length: PACKETS }, (_, i) => mqttPacket.generate({ cmd: 'publish', topic: 'devices/edge1/modules/A/messages/events/%24.on=output1/', payload, qos: 1, messageId: (i % 65535) + 1, retain: false, dup: false }))));
const mqttParse = timed(() => {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let n = 0;
  parser.on('packet', () => n++);
  for (const chunk of mqttStream) parser.parse(chunk);
  if (n !== PACKETS) throw new Error(`parsed ${n} packets`);
});
const mqttGuard = guardCost(mqttStream, (limit) => new MqttFrameGuard(limit), 320 * 1024);

/** A transfer-sized frame per message: 8-byte frame header, then the encoded message. */
const messages = Array.from({ length: PACKETS }, () => rhea.message.encode({ body: rhea.message.data_section(payload), application_properties: { 'iothub-outputname': 'output1' } } as rhea.Message));
const amqpStream = chunks(
  Buffer.concat([
    Buffer.from('AMQP\x00\x01\x00\x00', 'latin1'),
    ...messages.map((m) => {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(8 + m.length, 0);
      header[4] = 2;
      return Buffer.concat([header, m]);
    }),
  ]),
);
const amqpDecode = timed(() => {
  for (const m of messages) rhea.message.decode(m);
});
const amqpGuard = guardCost(amqpStream, (limit) => new AmqpFrameGuard(limit), 64 * 1024);

console.log(`MQTT: guard ${mqttGuard.toFixed(0)} ns/packet, mqtt-packet parse ${mqttParse.toFixed(0)} ns/packet (${PACKETS} PUBLISH of ${BODY} B in 64 KiB chunks)`);
console.log(`AMQP: guard ${amqpGuard.toFixed(0)} ns/frame, rhea message decode ${amqpDecode.toFixed(0)} ns/message`);
console.log(`frame guards: MQTT guard/parse = ${(mqttGuard / mqttParse).toFixed(3)}, AMQP guard/decode = ${(amqpGuard / amqpDecode).toFixed(3)}`);
