/**
 * AMQP vs MQTT on the routed module-to-module path: `npm run bench:hub -- --transport amqp
 * [--messages=20000 --window=500 --body=1024 --rounds=5 --nodelay=1 --inprocess=1 --only=amqp|mqtt]` (bench/hub.ts dispatches here).
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
 * The two module clients run in a child process (as modules are other processes), so their
 * protocol library does not share the hub's thread; `--inprocess=1` keeps them in the hub process.
 * Throughput: `--messages` with `--window` sends in flight, from the first send to the last
 * receipt; after an uncounted warm-up of each, the two alternate (and swap who goes first) over
 * `--rounds`, medians reported, with the CPU time per routed message of the hub's and the clients'
 * process (`process.cpuUsage` over the measured run). Last line:
 * `hub-amqp: amqp/mqtt = R (amqp N msg/s, mqtt M msg/s)`.
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import rhea, { type EventContext, type Sender } from 'rhea';
import { connectAsync, type MqttClient } from 'mqtt';
import { IOT_HUB, startHub } from '../test/support/mqtt/hub-harness.js';
import { attachReceiver, attachSender, closeRaw, connectRaw, putToken, sasFor } from '../test/support/amqp/raw-client.js';
import { arg } from './bench-args.js';

const MESSAGES = arg('messages', 20_000);
const WINDOW = arg('window', 500);
const BODY = arg('body', 1024);
const ROUNDS = arg('rounds', 5);
/** `--nodelay=1`: Nagle off on the bench clients (the SDKs leave it on). */
const NO_DELAY = arg('nodelay', 0) === 1;
/** `--inprocess=1`: the clients share the hub's process (and thread). */
const IN_PROCESS = arg('inprocess', 0) === 1;
const ROUTES = { r: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' };

/** What the clients need to reach a hub (serializable: the clients may run in another process). */
interface HubEndpoint {
  port: number;
  amqpPort: number;
  ca: string;
}

/** A routed path: `send` resolves when the hub acknowledged (stored) the message; `onReceive` fires per input at B. */
interface Path {
  send(body: Buffer): Promise<void>;
  onReceive(listener: () => void): void;
  close(): Promise<void>;
}

async function amqpPath(hub: HubEndpoint, keyA: string, keyB: string): Promise<Path> {
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

async function mqttPath(hub: HubEndpoint, keyA: string, keyB: string): Promise<Path> {
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

interface ClientRun {
  kind: 'amqp' | 'mqtt';
  hub: HubEndpoint;
  keyA: string;
  keyB: string;
  messages: number;
}

/** One measurement: msg/s and CPU time per routed message (µs) of the hub's and the clients' process. */
interface Measured {
  rate: number;
  /** The hub's process (with `--inprocess=1` also the clients'). */
  hubCpuUs: number;
  /** The clients' process; NaN with `--inprocess=1`. */
  clientCpuUs: number;
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/** Closed loop: `WINDOW` sends in flight until `messages` were received at B. Returns msg/s and this process's CPU µs per message. */
async function runClients(run: ClientRun): Promise<{ rate: number; cpuUs: number }> {
  const path = run.kind === 'amqp' ? await amqpPath(run.hub, run.keyA, run.keyB) : await mqttPath(run.hub, run.keyA, run.keyB);
  const body = Buffer.alloc(BODY, 0x41);
  let received = 0;
  const done = new Promise<void>((resolve) =>
    path.onReceive(() => {
      if (++received === run.messages) resolve();
    }),
  );
  const start = performance.now();
  const cpu = process.cpuUsage();
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < WINDOW && sent < run.messages) {
        inFlight++;
        sent++;
        path.send(body).then(() => {
          inFlight--;
          if (sent === run.messages && inFlight === 0) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  await done;
  const rate = run.messages / ((performance.now() - start) / 1000);
  const cpuUs = cpuMicros(cpu) / run.messages;
  await path.close();
  return { rate, cpuUs };
}

/**
 * One measurement on a fresh hub. The two module clients run in a child process by default, as
 * modules do (their protocol library then does not compete with the hub for the same thread);
 * `--inprocess=1` keeps them in the hub's process.
 */
async function throughput(kind: 'amqp' | 'mqtt', messages = MESSAGES): Promise<Measured> {
  const hub = await startHub({ routes: ROUTES });
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const run: ClientRun = { kind, hub: { port: hub.port, amqpPort: hub.amqpPort, ca: hub.ca }, keyA: a.key, keyB: b.key, messages };
    if (IN_PROCESS) {
      const own = await runClients(run);
      return { rate: own.rate, hubCpuUs: own.cpuUs, clientCpuUs: Number.NaN };
    }
    const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2).filter((x) => !x.startsWith('--only=')), '--client'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // The hub's CPU: this process from the start of the clients' run to their report (the
    // connection set-up, a small part, is included).
    const cpu = process.cpuUsage();
    child.send(run);
    return await new Promise<Measured>((resolve, reject) => {
      child.once('message', (m) => {
        const reply = m as { rate: number; cpuUs: number };
        resolve({ rate: reply.rate, hubCpuUs: cpuMicros(cpu) / messages, clientCpuUs: reply.cpuUs });
      });
      child.once('exit', (code) => reject(new Error(`client process exited with ${String(code)} before reporting`)));
    });
  } finally {
    await hub.close();
  }
}

const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  if (process.argv.includes('--client')) {
    // Child: run the clients of one measurement and report msg/s to the parent.
    const run = await new Promise<ClientRun>((resolve) => process.once('message', (m) => resolve(m as ClientRun)));
    const measured = await runClients(run);
    await new Promise<void>((resolve) => process.send!(measured, () => resolve()));
    return;
  }
  const only = process.argv.find((x) => x.startsWith('--only='))?.slice(7);
  if (only === 'amqp' || only === 'mqtt') {
    // For profiling one side: `--only=amqp|mqtt` measures that transport alone.
    const m = await throughput(only);
    console.log(`${only}: ${m.rate.toFixed(0)} msg/s, CPU/message: ${cpuText(m)}`);
    return;
  }
  const amqp: Measured[] = [];
  const mqtt: Measured[] = [];
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
    const a = amqp.at(-1)!;
    const m = mqtt.at(-1)!;
    console.log(
      `round ${round}: amqp ${a.rate.toFixed(0)} msg/s (${cpuText(a)}), mqtt ${m.rate.toFixed(0)} msg/s (${cpuText(m)}) (${MESSAGES} x ${BODY} B, window ${WINDOW}, TLS, clients ${IN_PROCESS ? 'in the hub process' : 'in a child process'})`,
    );
  }
  const summary = (ms: Measured[]): Measured => ({ rate: median(ms.map((x) => x.rate)), hubCpuUs: median(ms.map((x) => x.hubCpuUs)), clientCpuUs: median(ms.map((x) => x.clientCpuUs)) });
  const a = summary(amqp);
  const m = summary(mqtt);
  console.log(`CPU per routed message (medians): amqp ${cpuText(a)}; mqtt ${cpuText(m)}`);
  console.log(`hub-amqp: amqp/mqtt = ${(a.rate / m.rate).toFixed(2)} (amqp ${a.rate.toFixed(0)} msg/s, mqtt ${m.rate.toFixed(0)} msg/s)`);
}

function cpuText(m: Measured): string {
  return Number.isNaN(m.clientCpuUs) ? `hub+clients ${m.hubCpuUs.toFixed(0)} µs` : `hub ${m.hubCpuUs.toFixed(0)} µs, clients ${m.clientCpuUs.toFixed(0)} µs`;
}

await main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
