/**
 * Upstream benchmark: `npm run bench:upstream [-- --messages=10000 --window=50 --body=1024 --rounds=5 --warmup=1]`.
 * One process, one IoT Hub emulator (AMQP over TLS on loopback, test/support/iothub-emulator), the
 * same 1 KB messages, timed from the first send until the emulator has received them all:
 * - edgeport: `edgeport run` (hub role, its own process as deployed; routes from the emulator's
 *   `$edgeHub` twin, leaf keys from the cached device scope); 20 leaf devices (MQTT.js 5, QoS 1,
 *   plain TCP to its MQTT head) send `--messages` in total, each client with `--window`
 *   publishes in flight (like the one SDK client below); the pipeline stores each one durably (SQLite), the route `FROM /messages/* INTO
 *   $upstream` queues it and the pump sends it through the multiplexed IoT Hub upstream (one AMQP
 *   connection, one CBS token and telemetry link per device), checkpointing on the dispositions;
 * - sdk: one official `azure-iot-device-amqp` Client sends the same number straight to the
 *   emulator, `--window` `sendEvent`s in flight.
 * After `--warmup` untimed rounds of each (JIT-compiled code on both sides, as in steady
 * operation), the two alternate over `--rounds`; medians are reported, with the CPU time per
 * message of the runtime process and of this process (clients and emulator). The last line is
 * `upstream: edgeport/sdk = R (edgeport N msg/s, sdk M msg/s)`.
 * Profile the runtime with `RUNTIME_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`; `--only=edgeport`
 * (or `sdk`) runs one side only, e.g. to profile this process with `node --cpu-prof`.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectAsync, type MqttClient } from 'mqtt';
import { freePort } from '../test/support/free-port.js';
import { IotHubEmulator } from '../test/support/iothub-emulator/iothub-emulator.js';
import { sdkDeviceToken } from '../test/support/identity/sdk-sas-token.js';
import { Client, Message } from '../test/support/mqtt/sdk.js';
import { Amqp } from '../test/support/amqp/sdk.js';
import { RuntimeProcess } from '../test/support/runtime-process.js';
import { arg } from './bench-args.js';

const MESSAGES = arg('messages', 10_000);
/** Sends in flight per client (each of the 20 leaf devices, and the one SDK client). */
const WINDOW = arg('window', 50);
const BODY = arg('body', 1024);
const ROUNDS = arg('rounds', 5);
/** Untimed rounds of each side first: both processes' JIT warm, as in steady operation. */
const WARMUP = arg('warmup', 1);
const CLIENTS = 20;
/** `--only=edgeport` or `--only=sdk`: run one side (to profile it); no ratio is printed then. */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const RUN_EDGEPORT = ONLY !== 'sdk';
const RUN_SDK = ONLY !== 'edgeport';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Waits until the emulator holds `count` messages more than `base`; returns the ms since `start`. */
async function arrived(emulator: IotHubEmulator, base: number, count: number, start: number): Promise<number> {
  await emulator.waitForMessages((r) => r.length >= base + count, 300_000, `${count} messages`);
  return performance.now() - start;
}

/** `edgeport run` (hub only) connected to the emulator, as deployed: its own process; the deployment's routes come from the `$edgeHub` twin. */
async function startEdgeport(emulator: IotHubEmulator): Promise<{ runtime: RuntimeProcess; mqttPort: number; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-upstream-'));
  const caFile = join(dir, 'emulator-ca.pem');
  await writeFile(caFile, emulator.ca);
  const mqttPort = await freePort();
  emulator.setDesired('edge1/$edgeHub', { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } });
  const runtime = new RuntimeProcess(dir, {
    EDGEPORT_DEVICE_ID: 'edge1',
    EDGEPORT_IOT_HUB_HOSTNAME: emulator.hostName,
    EDGEPORT_LOG_LEVEL: 'warn',
    EDGEPORT_AGENT_ENABLED: 'false',
    EDGEPORT_HUB_MQTT_HOST: '127.0.0.1',
    EDGEPORT_HUB_MQTT_PORT: String(await freePort()),
    EDGEPORT_HUB_MQTT_PLAIN_PORT: String(mqttPort),
    EDGEPORT_HUB_AMQP_ENABLED: 'false',
    EDGEPORT_HUB_HTTPS_ENABLED: 'false',
    EDGEPORT_METRICS_ENABLED: 'false',
    EDGEPORT_UPSTREAM_KIND: 'iothub',
    EDGEPORT_UPSTREAM_CONNECTION_STRING: `HostName=${emulator.hostName};DeviceId=edge1;SharedAccessKey=${emulator.registry.get({ kind: 'device', deviceId: 'edge1' })!.primaryKey}`,
    EDGEPORT_UPSTREAM_HOST: 'localhost',
    EDGEPORT_UPSTREAM_AMQP_PORT: String(emulator.amqpPort),
    EDGEPORT_UPSTREAM_HTTPS_PORT: String(emulator.httpsPort),
    EDGEPORT_UPSTREAM_CA_FILE: caFile,
    
  });
  // Connected, routes from the $edgeHub twin applied, device scope (leaf keys) cached.
  await runtime.until('edgeport connected with routes', 60_000, () => ((emulator.twin('edge1/$edgeHub').reported.properties['lastDesiredStatus'] as { code?: number } | undefined)?.code === 200 ? true : undefined));
  return { runtime, mqttPort, dir };
}

/** CPU per message in µs over a round: the runtime process (and its main thread, which the pipeline's ingest, pump and upstream share), and this process (clients and emulator). */
interface CpuPerMessage {
  runtime?: number;
  runtimeMain?: number;
  bench: number;
}

/** CPU ms of the runtime's main thread (`/proc/<pid>/task/<pid>/stat`: the SQLite writer thread and V8's helpers not counted); undefined without procfs. */
function mainThreadCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ = 100
  } catch {
    return undefined;
  }
}

const cpuNote = (cpu: CpuPerMessage): string =>
  `cpu/msg ${cpu.runtime === undefined ? '' : `runtime ${cpu.runtime.toFixed(1)} µs (main thread ${cpu.runtimeMain?.toFixed(1) ?? '?'}) + `}bench process (clients, emulator) ${cpu.bench.toFixed(1)} µs`;

async function edgeportRound(emulator: IotHubEmulator, runtime: RuntimeProcess, mqttPort: number): Promise<{ rate: number; cpu: CpuPerMessage }> {
  const clients: MqttClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const leaf = emulator.registry.get({ kind: 'device', deviceId: `leaf${i}` })!;
      clients.push(
        await connectAsync({ host: '127.0.0.1', port: mqttPort, protocolVersion: 4, clientId: `leaf${i}`, clean: true, reconnectPeriod: 0, username: `${emulator.hostName}/leaf${i}/?api-version=2021-04-12`, password: sdkDeviceToken({ host: emulator.hostName, deviceId: `leaf${i}`, key: leaf.primaryKey, expiry: Math.floor(Date.now() / 1000) + 3600 }) }),
      );
    }
    // Let the hub open each client's upstream links (twin) before timing.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !Array.from({ length: CLIENTS }, (_, i) => `leaf${i}`).every((id) => [...emulator.identitiesByConnection().values()].some((ids) => ids.includes(id)))) await new Promise((r) => setTimeout(r, 50));
    const body = Buffer.alloc(BODY, 0x41);
    const perClient = Math.ceil(MESSAGES / CLIENTS);
    const base = emulator.received.length;
    const runtimeCpu = runtime.cpuMs();
    const mainCpu = mainThreadCpuMs(runtime.pid);
    const benchCpu = process.cpuUsage();
    const start = performance.now();
    await Promise.all(
      clients.map(async (client, i) => {
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < perClient) {
            next++;
            await client.publishAsync(`devices/leaf${i}/messages/events/`, body, { qos: 1 });
          }
        };
        await Promise.all(Array.from({ length: WINDOW }, lane));
      }),
    );
    const ackedMs = performance.now() - start;
    const ms = await arrived(emulator, base, perClient * CLIENTS, start);
    const total = perClient * CLIENTS;
    const runtimeUsed = runtime.cpuMs();
    const mainUsed = mainThreadCpuMs(runtime.pid);
    const benchUsed = process.cpuUsage(benchCpu);
    const cpu: CpuPerMessage = { bench: (benchUsed.user + benchUsed.system) / total };
    if (runtimeCpu !== undefined && runtimeUsed !== undefined) cpu.runtime = ((runtimeUsed - runtimeCpu) * 1000) / total;
    if (mainCpu !== undefined && mainUsed !== undefined) cpu.runtimeMain = ((mainUsed - mainCpu) * 1000) / total;
    console.log(`  edgeport: all ${total} acknowledged (stored) by the hub after ${Math.round(ackedMs)} ms, all at the emulator after ${Math.round(ms)} ms; ${cpuNote(cpu)}`);
    const connections = emulator.openConnections;
    if (connections !== 1) throw new Error(`expected one upstream connection, the emulator has ${connections}`);
    return { rate: total / (ms / 1000), cpu };
  } finally {
    for (const c of clients) await c.endAsync(true);
  }
}

async function sdkRound(emulator: IotHubEmulator): Promise<{ rate: number; cpu: CpuPerMessage }> {
  const client = Client.fromConnectionString(emulator.connectionString('direct'), Amqp);
  await client.setOptions({ ca: emulator.ca });
  await client.open();
  try {
    const body = Buffer.alloc(BODY, 0x41);
    const base = emulator.received.length;
    const benchCpu = process.cpuUsage();
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
    const used = process.cpuUsage(benchCpu);
    const cpu: CpuPerMessage = { bench: (used.user + used.system) / MESSAGES };
    console.log(`  sdk: all ${MESSAGES} at the emulator after ${Math.round(ms)} ms; ${cpuNote(cpu)}`);
    return { rate: MESSAGES / (ms / 1000), cpu };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const emulator = new IotHubEmulator('bench.azure-devices.net');
  emulator.registry.add('edge1', { edge: true });
  emulator.registry.add('edge1/$edgeAgent');
  emulator.registry.add('edge1/$edgeHub');
  emulator.registry.add('direct');
  for (let i = 0; i < CLIENTS; i++) emulator.registry.add(`leaf${i}`, { parent: 'edge1' });
  await emulator.start();
  const edgeport: number[] = [];
  const sdk: number[] = [];
  const hub = await startEdgeport(emulator);
  try {
    for (let round = 1; round <= WARMUP; round++) {
      console.log(`warm-up ${round} (not counted):`);
      if (RUN_EDGEPORT) await edgeportRound(emulator, hub.runtime, hub.mqttPort);
      emulator.received.length = 0;
      if (RUN_SDK) await sdkRound(emulator);
      emulator.received.length = 0;
    }
    for (let round = 1; round <= ROUNDS; round++) {
      if (RUN_EDGEPORT) edgeport.push((await edgeportRound(emulator, hub.runtime, hub.mqttPort)).rate);
      emulator.received.length = 0;
      if (RUN_SDK) sdk.push((await sdkRound(emulator)).rate);
      emulator.received.length = 0;
      console.log(`round ${round}: edgeport ${RUN_EDGEPORT ? Math.round(edgeport.at(-1)!) : '-'} msg/s (${CLIENTS} clients, one upstream connection), sdk ${RUN_SDK ? Math.round(sdk.at(-1)!) : '-'} msg/s`);
    }
  } finally {
    await hub.runtime.stop();
    await rm(hub.dir, { recursive: true, force: true });
    await emulator.close();
  }
  console.log(`messages ${MESSAGES} x ${BODY} B, window ${WINDOW} per client, rounds ${ROUNDS} (medians)`);
  if (!RUN_EDGEPORT || !RUN_SDK) return;
  const e = median(edgeport);
  const s = median(sdk);
  console.log(`upstream: edgeport/sdk = ${(e / s).toFixed(2)} (edgeport ${Math.round(e)} msg/s, sdk ${Math.round(s)} msg/s)`);
}

await main();
