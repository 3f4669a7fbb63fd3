/**
 * Upstream benchmark: `npm run bench:upstream [-- --messages=10000 --window=200 --body=1024 --rounds=3]`.
 * One process, one IoT Hub emulator (AMQP over TLS on loopback, test/support/iothub-emulator), the
 * same 1 KB messages, timed from the first send until the emulator has received them all:
 * - edgeport: 20 leaf devices (MQTT.js 5, QoS 1, plain TCP to Edgeport's MQTT head) send
 *   `--messages` in total with `--window` publishes in flight overall; the real pipeline stores
 *   each one durably (temporary SQLite), the route `FROM /messages/* INTO $upstream` queues it and
 *   the pump sends it through the multiplexed IoT Hub upstream (one AMQP connection, one CBS token
 *   and telemetry link per device), checkpointing on the emulator's dispositions;
 * - sdk: one official `azure-iot-device-amqp` Client sends the same number straight to the
 *   emulator, `--window` `sendEvent`s in flight.
 * The two alternate over `--rounds`; medians are reported. The last line is
 * `upstream: edgeport/sdk = R (edgeport N msg/s, sdk M msg/s)`.
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Container } from 'inversify';
import { connectAsync, type MqttClient } from 'mqtt';
import { Clock } from '../application/ports/clock.js';
import { HostedService } from '../application/ports/hosted-service.js';
import { IdentityStore } from '../application/ports/identity-store.js';
import { Logger, type LogFields } from '../application/ports/logger.js';
import { Metrics } from '../application/ports/metrics.js';
import { Upstream } from '../application/ports/upstream.js';
import { RouteConfig } from '../application/hub/route-config.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../test/support/in-memory-metrics.js';
import { freePort } from '../test/support/free-port.js';
import { IotHubEmulator } from '../test/support/iothub-emulator/iothub-emulator.js';
import { sdkDeviceToken } from '../test/support/identity/sdk-sas-token.js';
import { Client, Message } from '../test/support/mqtt/sdk.js';
import { Amqp } from '../test/support/amqp/sdk.js';
import { hubModule } from '../infrastructure/composition/hub-module.js';
import { storageModule } from '../infrastructure/composition/storage-module.js';
import { upstreamModule } from '../infrastructure/composition/upstream-module.js';

function arg(name: string, fallback: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3));
}

const MESSAGES = arg('messages', 10_000);
const WINDOW = arg('window', 200);
const BODY = arg('body', 1024);
const ROUNDS = arg('rounds', 3);
const CLIENTS = 20;

class QuietLogger extends Logger {
  debug(): void {}
  info(): void {}
  warn(message: string, fields?: LogFields): void {
    process.stderr.write(`warn: ${message} ${JSON.stringify(fields ?? {})}\n`);
  }
  error(message: string, fields?: LogFields): void {
    process.stderr.write(`error: ${message} ${JSON.stringify(fields ?? {})}\n`);
  }
  child(): Logger {
    return this;
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Waits until the emulator holds `count` messages more than `base`; returns the ms since `start`. */
async function arrived(emulator: IotHubEmulator, base: number, count: number, start: number): Promise<number> {
  await emulator.waitForMessages((r) => r.length >= base + count, 300_000, `${count} messages`);
  return performance.now() - start;
}

async function edgeportRound(emulator: IotHubEmulator): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-upstream-'));
  const mqttPort = await freePort();
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Logger).toConstantValue(new QuietLogger());
  container.bind(Clock).to(SystemClock).inSingletonScope();
  container.bind(Metrics).to(InMemoryMetrics).inSingletonScope();
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db') }));
  container.load(hubModule({ edgeDeviceId: 'edge1', iotHubHostname: emulator.hostName, mqtt: { enabled: true, host: '127.0.0.1', port: 8883, plainPort: mqttPort }, pipeline: { timeToLiveSecs: 7200, maxStoreBytes: 0 } }));
  const edgeKey = emulator.registry.get({ kind: 'device', deviceId: 'edge1' })!.primaryKey;
  container.load(upstreamModule({ kind: 'iothub', connectionString: `HostName=${emulator.hostName};DeviceId=edge1;SharedAccessKey=${edgeKey}`, host: 'localhost', amqpPort: emulator.amqpPort, httpsPort: emulator.httpsPort, ca: emulator.ca, twinDeployment: false }));
  const services = container.getAll(HostedService);
  for (const s of services) await s.start();
  const clients: MqttClient[] = [];
  try {
    const routes = container.get(RouteConfig).replace({ up: 'FROM /messages/* INTO $upstream' });
    if (!routes.ok) throw new Error(routes.error);
    const upstream = container.get(Upstream);
    while (!upstream.isConnected()) await new Promise((r) => setTimeout(r, 20));
    const store = container.get(IdentityStore);
    for (let i = 0; i < CLIENTS; i++) {
      const leaf = emulator.registry.get({ kind: 'device', deviceId: `leaf${i}` })!;
      await store.put(leaf.identity, { primaryKey: leaf.primaryKey, secondaryKey: leaf.secondaryKey });
      clients.push(
        await connectAsync({ host: '127.0.0.1', port: mqttPort, protocolVersion: 4, clientId: `leaf${i}`, clean: true, reconnectPeriod: 0, username: `${emulator.hostName}/leaf${i}/?api-version=2021-04-12`, password: sdkDeviceToken({ host: emulator.hostName, deviceId: `leaf${i}`, key: leaf.primaryKey, expiry: Math.floor(Date.now() / 1000) + 3600 }) }),
      );
    }
    const body = Buffer.alloc(BODY, 0x41);
    const perClient = Math.ceil(MESSAGES / CLIENTS);
    const windowPerClient = Math.max(1, Math.floor(WINDOW / CLIENTS));
    const base = emulator.received.length;
    const start = performance.now();
    let acked = 0;
    const progress = process.env['BENCH_DEBUG'] ? setInterval(() => console.log(`acked ${acked} received ${emulator.received.length - base}`), 2000) : undefined;
    await Promise.all(
      clients.map(async (client, i) => {
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < perClient) {
            next++;
            await client.publishAsync(`devices/leaf${i}/messages/events/`, body, { qos: 1 });
            acked++;
          }
        };
        await Promise.all(Array.from({ length: windowPerClient }, lane));
      }),
    );
    const ms = await arrived(emulator, base, perClient * CLIENTS, start).finally(() => clearInterval(progress));
    const connections = emulator.identitiesByConnection().size;
    if (connections !== 1) throw new Error(`expected one upstream connection, the emulator saw ${connections}`);
    return (perClient * CLIENTS) / (ms / 1000);
  } finally {
    for (const c of clients) await c.endAsync(true);
    for (const s of [...services].reverse()) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function sdkRound(emulator: IotHubEmulator): Promise<number> {
  const client = Client.fromConnectionString(emulator.connectionString('direct'), Amqp);
  await client.setOptions({ ca: emulator.ca });
  await client.open();
  try {
    const body = Buffer.alloc(BODY, 0x41);
    const base = emulator.received.length;
    const start = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < MESSAGES) {
        next++;
        await client.sendEvent(new Message(body));
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, lane));
    const ms = await arrived(emulator, base, MESSAGES, start);
    return MESSAGES / (ms / 1000);
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const emulator = new IotHubEmulator('bench.azure-devices.net');
  emulator.registry.add('edge1', { edge: true });
  emulator.registry.add('direct');
  for (let i = 0; i < CLIENTS; i++) emulator.registry.add(`leaf${i}`, { parent: 'edge1' });
  await emulator.start();
  const edgeport: number[] = [];
  const sdk: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      edgeport.push(await edgeportRound(emulator));
      emulator.received.length = 0;
      sdk.push(await sdkRound(emulator));
      emulator.received.length = 0;
      console.log(`round ${round}: edgeport ${Math.round(edgeport.at(-1)!)} msg/s (${CLIENTS} clients, one upstream connection), sdk ${Math.round(sdk.at(-1)!)} msg/s`);
    }
  } finally {
    await emulator.close();
  }
  const e = median(edgeport);
  const s = median(sdk);
  console.log(`messages ${MESSAGES} x ${BODY} B, window ${WINDOW}, rounds ${ROUNDS} (medians)`);
  console.log(`upstream: edgeport/sdk = ${(e / s).toFixed(2)} (edgeport ${Math.round(e)} msg/s, sdk ${Math.round(s)} msg/s)`);
}

await main();
