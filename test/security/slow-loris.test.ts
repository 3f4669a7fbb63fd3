import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { AMQP_HEADER, type AttackSocket, type AttackTarget, openAttack } from './attack-sockets.js';
import { type AttackedHub, DEVICE, IOT_HUB, MB, freshClientRoutes, startAttackedHub, underAttack } from './attacked-hub.js';

// Issue #12 items 2 and 4: sockets that never complete their handshake stayed open (an AMQP socket
// that never sent its header was still open after 45 s; MQTT waited 30 s, HTTPS 60 s, a TCP socket
// on a TLS port 120 s). Every listener now closes a connection that has not authenticated within
// hub.limits.handshakeTimeoutSecs (2 s here) of being accepted, however slowly its bytes come.

const HANDSHAKE_SECS = 2;
const MARGIN_MS = 2_500;
const RSS_BOUND = 20 * MB;
const SOCKETS_PER_TARGET = 8;
const DRIBBLE_EVERY_MS = 200;

const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `${DEVICE}/victim`, keepalive: 60, username: `${IOT_HUB}/${DEVICE}/victim/?api-version=2021-04-12`, password: Buffer.from('SharedAccessSignature sr=x&sig=y&se=1') });
/** What each target dribbles, one byte per DRIBBLE_EVERY_MS: the start of a real opening, never finished. */
const OPENINGS: Record<AttackTarget, Buffer> = {
  mqtt: connect,
  mqtts: connect,
  'wss-mqtt': connect,
  amqps: Buffer.concat([AMQP_HEADER, Buffer.alloc(64)]),
  'wss-amqp': Buffer.concat([AMQP_HEADER, Buffer.alloc(64)]),
  https: Buffer.from('GET /twins/gw/modules/victim/methods HTTP/1.1\r\nHost: localhost\r\nX-Padding: ' + 'a'.repeat(200)),
  'tcp-to-mqtts': Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Buffer.alloc(100)]),
  'tcp-to-amqps': Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Buffer.alloc(100)]),
};

async function dribble(socket: AttackSocket, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length && !socket.isClosed; i++) {
    // Never the last byte: the opening must stay incomplete.
    if (i === bytes.length - 1) break;
    socket.stream.write(bytes.subarray(i, i + 1));
    await Promise.race([socket.closed, new Promise((r) => setTimeout(r, DRIBBLE_EVERY_MS))]);
  }
}

let hub: AttackedHub;
before(async () => (hub = await startAttackedHub({ handshakeTimeoutSecs: HANDSHAKE_SECS })));
after(async () => await hub?.stop());

test('slow-loris: connections dribbling an opening on every listener are closed at the handshake deadline; RSS bounded; routing goes on', { timeout: 90_000 }, async (t) => {
  await underAttack(hub, async ({ traffic, watch, from, since }) => {
    const targets = Object.keys(OPENINGS) as AttackTarget[];
    const attacking = Promise.all(
      targets.flatMap((target, t) =>
        Array.from({ length: SOCKETS_PER_TARGET }, async () => {
          const opened = Date.now();
          const socket = await openAttack(hub, target, `127.0.0.${t + 2}`);
          void dribble(socket, OPENINGS[target]);
          await Promise.race([socket.closed, new Promise((r) => setTimeout(r, HANDSHAKE_SECS * 1000 + MARGIN_MS + 2_000))]);
          const openMs = (socket.closedAt ?? Date.now()) - opened;
          socket.destroy();
          return { target, openMs };
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    await freshClientRoutes(hub, traffic); // during the attack
    const attacks = await attacking;
    const routed = traffic.delivered(from);
    const growth = watch.stop();
    const slowest = Math.max(...attacks.map((a) => a.openMs));
    t.diagnostic(`${attacks.length} slow connections on ${targets.length} targets; longest open ${slowest} ms; RSS + ${(growth / MB).toFixed(1)} MB; ${routed} messages routed meanwhile`);
    const late = attacks.filter((a) => a.openMs > HANDSHAKE_SECS * 1000 + MARGIN_MS);
    assert.deepEqual(late, [], `closed within ${HANDSHAKE_SECS} s + ${MARGIN_MS} ms`);
    assert.ok(attacks.every((a) => a.openMs >= HANDSHAKE_SECS * 1000 - 300), 'not before the deadline either: they were only slow');
    assert.ok(growth < RSS_BOUND, `hub RSS grew ${(growth / MB).toFixed(1)} MB`);
    assert.ok(routed >= 10, `${routed} messages routed during the attack`);
    const timeouts = hub.logLines('connection refused by limits', { reason: 'handshake-timeout' }, since);
    assert.deepEqual(new Set(timeouts.map((l) => l['listener'])), new Set(['mqtt', 'mqtts', 'amqps', 'https']));
    await freshClientRoutes(hub, traffic); // and after it
  });
});
