import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import rhea, { type ConnectionOptions } from 'rhea';
import mqttPacket from 'mqtt-packet';
import { sdkDeviceToken } from '../support/identity/sdk-sas-token.js';
import { openAttack } from './attack-sockets.js';
import { type AttackedHub, DEVICE, IOT_HUB, MB, freshClientRoutes, startAttackedHub, underAttack } from './attacked-hub.js';
import { refusedCounts } from './metrics-scrape.js';

// Issue #12 item 4: forged logins were refused at 200-300/s, each with its own warn line, and
// nothing slowed them. With hub.limits at test sizes (5 free failures, back-off up to 4 s, one
// summary line per second), a storm from one address is mostly refused at accept, its log stays a
// handful of lines, and clients on other addresses connect and route throughout.

const LIMITS = { loginFailuresBeforeBackoff: 5, loginBackoffMaxSecs: 4, logSummaryIntervalSecs: 1 };
const STORM_MS = 5_000;
const PARALLEL = 4;
const RSS_BOUND = 20 * MB;
/**
 * Logins the hub may still evaluate in STORM_MS: the 5 free ones, then one per back-off window
 * (1 s, 2 s, then 4 s: 3 windows), each plus the PARALLEL - 1 attempts already in flight.
 */
const MAX_EVALUATED = LIMITS.loginFailuresBeforeBackoff + (PARALLEL - 1) + 3 * PARALLEL;

/** A token for gw/victim signed with the wrong key: well-formed, refused as bad-signature. */
function forgedToken(): string {
  return sdkDeviceToken({ host: IOT_HUB, deviceId: DEVICE, moduleId: 'victim', key: Buffer.alloc(32, 7).toString('base64'), expiry: Math.floor(Date.now() / 1000) + 3600 });
}

/** One forged MQTT login from `source`: 'rejected' (CONNACK 5: the hub checked it) or 'refused' (closed at accept: backed off). */
async function mqttLogin(hub: AttackedHub, source: string): Promise<'rejected' | 'refused' | 'accepted'> {
  const socket = await openAttack(hub, 'mqtt', source).catch(() => undefined);
  if (socket === undefined) return 'refused';
  const clientId = `${DEVICE}/victim`;
  const reply = new Promise<Buffer | undefined>((resolve) => {
    socket.stream.once('data', (data: Buffer) => resolve(data));
    void socket.closed.then(() => resolve(undefined));
  });
  socket.stream.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60, username: `${IOT_HUB}/${clientId}/?api-version=2021-04-12`, password: Buffer.from(forgedToken()) }));
  const data = await reply;
  socket.destroy();
  if (data === undefined) return 'refused';
  return data[3] === 0 ? 'accepted' : 'rejected';
}

/** One forged AMQP SASL PLAIN login from `source`; the hub's metrics tell evaluated from refused ones. */
async function amqpLogin(hub: AttackedHub, source: string): Promise<'rejected' | 'refused' | 'accepted'> {
  const container = rhea.create_container();
  container.on('error', () => undefined);
  const connection = container.connect({
    host: '127.0.0.1', port: hub.ports.amqps, transport: 'tls', ca: hub.ca, servername: 'localhost', localAddress: source, reconnect: false,
    username: `${DEVICE}/modules/victim@sas.${IOT_HUB.split('.')[0]}`, password: forgedToken(),
  } as ConnectionOptions);
  return await new Promise((resolve) => {
    connection.once('connection_open', () => {
      connection.close();
      resolve('accepted');
    });
    connection.on('connection_error', () => undefined);
    connection.once('disconnected', () => resolve('refused'));
  });
}

async function storm(hub: AttackedHub, login: (hub: AttackedHub, source: string) => Promise<'rejected' | 'refused' | 'accepted'>, source: string): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = { rejected: 0, refused: 0, accepted: 0 };
  const deadline = Date.now() + STORM_MS;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (Date.now() < deadline) outcomes[await login(hub, source)]!++;
    }),
  );
  return outcomes;
}

let hub: AttackedHub;
before(async () => (hub = await startAttackedHub(LIMITS)));
after(async () => await hub?.stop());

for (const [protocol, login, listener, source] of [
  ['MQTT CONNECT', mqttLogin, 'mqtt', '127.0.0.2'],
  ['AMQP SASL PLAIN', amqpLogin, 'amqps', '127.0.0.3'],
] as const) {
  test(`bad-login storm (${protocol}): the source backs off, its log lines collapse, other clients connect and route throughout`, { timeout: 90_000 }, async (t) => {
    await underAttack(hub, async ({ traffic, watch, from, since }) => {
      const before = await refusedCounts(hub);
      const attacking = storm(hub, login, source);
      await new Promise((r) => setTimeout(r, 1_500));
      await freshClientRoutes(hub, traffic); // during the storm, from 127.0.0.1
      const outcomes = await attacking;
      const routed = traffic.delivered(from);
      await new Promise((r) => setTimeout(r, 1_500)); // the last summary interval ends
      const growth = watch.stop();
      const counts = await refusedCounts(hub);
      const lines = hub.run.lines.slice(since).filter((l) => l['source'] === source);
      const attempts = outcomes['rejected']! + outcomes['refused']!;
      // The hub's counters since this test began (the hub is shared with the file's other test).
      const evaluated = (counts[`${listener}/login-failed`] ?? 0) - (before[`${listener}/login-failed`] ?? 0);
      const refused = (counts[`${listener}/login-backoff`] ?? 0) - (before[`${listener}/login-backoff`] ?? 0);
      t.diagnostic(`${attempts} forged logins in ${STORM_MS} ms: ${evaluated} evaluated, ${refused} refused at accept; ${lines.length} log lines; RSS + ${(growth / MB).toFixed(1)} MB; ${routed} messages routed`);
      assert.equal(outcomes['accepted'], 0);
      assert.equal(evaluated + refused, attempts, 'every attempt was either evaluated or refused at accept');
      if (listener === 'mqtt') assert.equal(outcomes['rejected'], evaluated, 'CONNACK 5 for exactly the evaluated ones');
      assert.ok(evaluated >= LIMITS.loginFailuresBeforeBackoff && evaluated <= MAX_EVALUATED, `${evaluated} logins evaluated (at most ${MAX_EVALUATED} with the back-off)`);
      assert.ok(refused >= 2 * evaluated, `${refused} attempts refused at accept`);
      assert.ok(lines.length <= 25, `${lines.length} log lines for ${attempts} forged logins`);
      const summaries = lines.filter((l) => l['msg'] === 'repeated refusals from one source');
      assert.ok(summaries.length >= 2, 'one summary line per interval');
      const summed = summaries.reduce((n, l) => n + Number((l['counts'] as Record<string, number>)['login-backoff'] ?? 0), 0);
      const full = lines.filter((l) => l['msg'] === 'connection refused by limits' && l['reason'] === 'login-backoff').length;
      assert.equal(summed + full, refused, 'the full lines and summaries account for every refusal');
      assert.ok(growth < RSS_BOUND, `hub RSS grew ${(growth / MB).toFixed(1)} MB`);
      assert.ok(routed >= 10, `${routed} messages routed during the storm`);
      await freshClientRoutes(hub, traffic);
    });
  });
}
