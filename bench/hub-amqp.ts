/**
 * AMQP vs MQTT on the routed module-to-module path: `npm run bench:hub -- --transport amqp
 * [--messages=10000 --window=500 --body=1024 --rounds=3 --nodelay=1 --only=amqp|mqtt]` (bench/hub.ts dispatches here).
 *
 * One hub as `edgeport run` builds it (real pipeline, SQLite in a temp dir, TLS listeners with
 * the edge certificate, `test/support/mqtt/hub-harness.ts`), fresh per measurement. Module A
 * sends outputs that the route `FROM /messages/modules/A/outputs/output1 INTO
 * BrokeredEndpoint("/modules/B/inputs/input1")` stores durably before acknowledging; the pump
 * delivers them to module B's input, checkpointing on B's acknowledgement.
 * - amqp: rhea 3 clients, as the SDK's AMQP transport does it: CBS put-token, a sender on
 *   `/devices/edge1/modules/A/messages/events` (application property `iothub-outputname`), a
 *   receiver on B's `messages/events` accepting each input; `accepted` = stored.
 * - mqtt: MQTT.js 5 clients (3.1.1, QoS 1) over TLS, as the SDK's MQTT transport does it.
 * Throughput: `--messages` with `--window` sends in flight, from the first send to the last
 * receipt; after an uncounted warm-up of each, the two alternate (and swap who goes first) over
 * `--rounds`, medians reported. Last line:
 * `hub-amqp: amqp/mqtt = R (amqp N msg/s, mqtt M msg/s)`.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import rhea, { type EventContext, type Sender } from 'rhea';
import { connectAsync, type MqttClient } from 'mqtt';
import { IOT_HUB, type Hub, startHub } from '../test/support/mqtt/hub-harness.js';
import { attachReceiver, attachSender, closeRaw, connectRaw, putToken, sasFor } from '../test/support/amqp/raw-client.js';

function arg(name: string, fallback: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3));
}

const MESSAGES = arg('messages', 10_000);
const WINDOW = arg('window', 500);
const BODY = arg('body', 1024);
const ROUNDS = arg('rounds', 3);
/** `--nodelay=1`: Nagle off on the bench clients (the SDKs leave it on). */
const NO_DELAY = arg('nodelay', 0) === 1;
const ROUTES = { r: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' };

/** A routed path: `send` resolves when the hub acknowledged (stored) the message; `onReceive` fires per input at B. */
interface Path {
  send(body: Buffer): Promise<void>;
  onReceive(listener: () => void): void;
  close(): Promise<void>;
}

async function amqpPath(hub: Hub, keyA: string, keyB: string): Promise<Path> {
  const open = async (id: string, key: string) => {
    const connection = await connectRaw(hub.amqpPort, hub.ca, NO_DELAY ? ({ tcp_no_delay: true } as Record<string, unknown>) : {});
    const sas = sasFor(IOT_HUB, id, key);
    const reply = await putToken(connection, sas.audience, sas.token);
    if (reply.status !== 200) throw new Error(`put-token for ${id}: ${String(reply.status)} ${String(reply.description)}`);
    return connection;
  };
  const b = await open('edge1/B', keyB);
  const receiver = (await attachReceiver(b, '/devices/edge1/modules/B/messages/events', { autoaccept: true })).link;
  const a = await open('edge1/A', keyA);
  const sender: Sender = (await attachSender(a, '/devices/edge1/modules/A/messages/events')).link;
  const waiting = new Map<unknown, { resolve: () => void; reject: (e: Error) => void }>();
  sender.on('accepted', (ctx: EventContext) => {
    waiting.get(ctx.delivery)?.resolve();
    waiting.delete(ctx.delivery);
  });
  sender.on('rejected', (ctx: EventContext) => {
    waiting.get(ctx.delivery)?.reject(new Error(`rejected: ${JSON.stringify(ctx.delivery?.remote_state)}`));
    waiting.delete(ctx.delivery);
  });
  const queue: Array<() => void> = [];
  sender.on('sendable', () => {
    while (queue.length > 0 && sender.sendable()) queue.shift()!();
  });
  return {
    send(body) {
      return new Promise<void>((resolve, reject) => {
        const go = (): void => {
          const delivery = sender.send({ application_properties: { 'iothub-outputname': 'output1' }, body: rhea.message.data_section(body) });
          waiting.set(delivery, { resolve, reject });
        };
        if (queue.length === 0 && sender.sendable()) go();
        else queue.push(go);
      });
    },
    onReceive(listener) {
      receiver.removeAllListeners('message');
      receiver.on('message', listener);
    },
    async close() {
      await closeRaw(a);
      await closeRaw(b);
    },
  };
}

async function mqttPath(hub: Hub, keyA: string, keyB: string): Promise<Path> {
  const connect = async (id: string, key: string): Promise<MqttClient> => {
    const client = await connectAsync({
      protocol: 'mqtts',
      host: 'localhost',
      port: hub.port,
      ca: hub.ca,
      protocolVersion: 4,
      clientId: `edge1/${id}`,
      clean: false,
      reconnectPeriod: 0,
      username: `${IOT_HUB}/edge1/${id}/?api-version=2021-04-12`,
      password: sasFor(IOT_HUB, `edge1/${id}`, key).token,
    });
    if (NO_DELAY) (client.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    return client;
  };
  const b = await connect('B', keyB);
  await b.subscribeAsync('devices/edge1/modules/B/#', { qos: 1 });
  const a = await connect('A', keyA);
  return {
    send(body) {
      return new Promise<void>((resolve, reject) => a.publish('devices/edge1/modules/A/messages/events/%24.on=output1/', body, { qos: 1 }, (error) => (error ? reject(error) : resolve())));
    },
    onReceive(listener) {
      b.removeAllListeners('message');
      b.on('message', listener);
    },
    async close() {
      await a.endAsync(true);
      await b.endAsync(true);
    },
  };
}

/** Closed loop: `WINDOW` sends in flight until `messages` were received at B. Returns msg/s. */
async function throughput(kind: 'amqp' | 'mqtt', messages = MESSAGES): Promise<number> {
  const hub = await startHub({ routes: ROUTES });
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const path = kind === 'amqp' ? await amqpPath(hub, a.key, b.key) : await mqttPath(hub, a.key, b.key);
    const body = Buffer.alloc(BODY, 0x41);
    let received = 0;
    const done = new Promise<void>((resolve) =>
      path.onReceive(() => {
        if (++received === messages) resolve();
      }),
    );
    const start = performance.now();
    let sent = 0;
    await new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      const pump = (): void => {
        while (inFlight < WINDOW && sent < messages) {
          inFlight++;
          sent++;
          path.send(body).then(() => {
            inFlight--;
            if (sent === messages && inFlight === 0) resolve();
            else pump();
          }, reject);
        }
      };
      pump();
    });
    await done;
    const rate = messages / ((performance.now() - start) / 1000);
    await path.close();
    return rate;
  } finally {
    await hub.close();
  }
}

const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const only = process.argv.find((x) => x.startsWith('--only='))?.slice(7);
  if (only === 'amqp' || only === 'mqtt') {
    // For profiling one side: `--only=amqp|mqtt` measures that transport alone.
    console.log(`${only}: ${(await throughput(only)).toFixed(0)} msg/s`);
    return;
  }
  const amqp: number[] = [];
  const mqtt: number[] = [];
  // Warm-up (JIT, SQLite page cache) for both, not counted; then alternate which goes first.
  await throughput('amqp', Math.min(MESSAGES, 2000));
  await throughput('mqtt', Math.min(MESSAGES, 2000));
  for (let round = 1; round <= ROUNDS; round++) {
    if (round % 2 === 1) {
      amqp.push(await throughput('amqp'));
      mqtt.push(await throughput('mqtt'));
    } else {
      mqtt.push(await throughput('mqtt'));
      amqp.push(await throughput('amqp'));
    }
    console.log(`round ${round}: amqp ${amqp.at(-1)!.toFixed(0)} msg/s, mqtt ${mqtt.at(-1)!.toFixed(0)} msg/s (${MESSAGES} x ${BODY} B, window ${WINDOW}, TLS)`);
  }
  const a = median(amqp);
  const m = median(mqtt);
  console.log(`hub-amqp: amqp/mqtt = ${(a / m).toFixed(2)} (amqp ${a.toFixed(0)} msg/s, mqtt ${m.toFixed(0)} msg/s)`);
}

await main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
