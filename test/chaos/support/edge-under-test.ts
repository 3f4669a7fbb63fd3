import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { cliEnv, loopbackListeners } from '../../support/cli/edgeport-cli.js';
import { freePort } from '../../support/free-port.js';
import { sdkDeviceToken } from '../../support/identity/sdk-sas-token.js';
import { EDGEPORT_BIN, REPO_ROOT, RuntimeProcess } from '../../support/runtime-process.js';
import { manifestFor } from '../../support/runtime-manifest.js';

/** The edge device every chaos scenario and the soak run as. */
export const EDGE_DEVICE = 'gw';
export const IOT_HUB = 'chaos.azure-devices.net';

export interface EdgeOptions {
  dataDir: string;
  /** `$edgeHub` routes of the local manifest. */
  routes: Record<string, string>;
  /** Identities (`dev` or `dev/mod`, `gw/...` for modules) added with `edgeport identity add` before start. */
  identities: readonly string[];
  /** Extra `EDGEPORT_*` settings (storage, upstream, agent runtime, ...). */
  env?: Record<string, string>;
  /** `$edgeAgent` modules of the manifest (default none). */
  modules?: Record<string, unknown>;
  /** Where the manifest is written (default `<dataDir>/deployment.json`); `false`: no manifest (the deployment comes from the cloud twins). */
  manifestPath?: string | false;
  /** Keys of identities that exist elsewhere (the cloud's registry), for `connect`. */
  keys?: ReadonlyMap<string, string>;
}

/** `edgeport run` as a child process, with the plain MQTT port and keys of its identities. */
export interface EdgeUnderTest {
  readonly runtime: RuntimeProcess;
  readonly plainPort: number;
  readonly metricsPort: number;
  readonly env: Record<string, string>;
  readonly keys: ReadonlyMap<string, string>;
  /** An MQTT.js 3.1.1 client authenticated as `id` with its SAS key (no automatic reconnect). */
  connect(id: string, options?: { clean?: boolean; connectTimeoutMs?: number }): Promise<MqttClient>;
  /** A fresh `edgeport run` on the same data directory and settings (after `runtime` stopped). */
  restart(): EdgeUnderTest;
}

/** Runs `edgeport <args>` with `env`; rejects with its output when it exits non-zero. */
export async function edgeportCommand(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EDGEPORT_BIN, ...args], { cwd: REPO_ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(out);
      else reject(new Error(`edgeport ${args.join(' ')} exited ${String(status)}: ${out}`));
    });
  });
}

/**
 * Adds the identities with the CLI (as an operator would), writes the manifest and starts
 * `edgeport run`; resolves once the runtime logs `edgeport running`.
 */
export async function startEdge(options: EdgeOptions): Promise<EdgeUnderTest> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const listeners = await loopbackListeners();
  const plainPort = await freePort();
  const manifestPath = options.manifestPath ?? join(options.dataDir, 'deployment.json');
  if (manifestPath !== false) writeFileSync(manifestPath, JSON.stringify(manifestFor(options.routes, options.modules)));
  const env: Record<string, string> = {
    EDGEPORT_DATA_DIR: options.dataDir,
    EDGEPORT_LOG_FORMAT: 'json',
    EDGEPORT_DEVICE_ID: EDGE_DEVICE,
    EDGEPORT_IOT_HUB_HOSTNAME: IOT_HUB,
    EDGEPORT_HOSTNAME: 'localhost',
    ...listeners,
    EDGEPORT_HUB_MQTT_PLAIN_PORT: String(plainPort),
    EDGEPORT_HUB_HTTPS_ENABLED: 'false',
    EDGEPORT_AGENT_RUNTIME: 'process',
    ...(manifestPath !== false ? { EDGEPORT_AGENT_MANIFEST: manifestPath } : {}),
    ...options.env,
  };
  const keys = new Map<string, string>(options.keys ?? []);
  for (const id of options.identities) {
    const out = await edgeportCommand(['identity', 'add', id], env);
    const key = /SharedAccessKey=([^;\s]+)/.exec(out)?.[1];
    if (key === undefined) throw new Error(`no key in the output of identity add ${id}: ${out}`);
    keys.set(id, key);
  }
  return await launch(env, plainPort, keys);
}

async function launch(env: Record<string, string>, plainPort: number, keys: ReadonlyMap<string, string>): Promise<EdgeUnderTest> {
  const edge = spawnEdge(env, plainPort, keys);
  await edge.runtime.until('edgeport running', 60_000, () => edge.runtime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);
  return edge;
}

function spawnEdge(env: Record<string, string>, plainPort: number, keys: ReadonlyMap<string, string>): EdgeUnderTest {
  const runtime = new RuntimeProcess(env['EDGEPORT_DATA_DIR']!, env);
  const edge: EdgeUnderTest = {
    runtime,
    plainPort,
    metricsPort: Number(env['EDGEPORT_METRICS_PORT']),
    env,
    keys,
    connect: async (id, connectOptions = {}) => await connectClient(plainPort, id, keys, connectOptions),
    restart: () => spawnEdge(env, plainPort, keys),
  };
  return edge;
}

/** Waits until a restarted runtime logs `edgeport running`. */
export async function running(edge: EdgeUnderTest): Promise<EdgeUnderTest> {
  await edge.runtime.until('edgeport running', 60_000, () => edge.runtime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);
  return edge;
}

async function connectClient(port: number, id: string, keys: ReadonlyMap<string, string>, options: { clean?: boolean; connectTimeoutMs?: number }): Promise<MqttClient> {
  const key = keys.get(id);
  if (key === undefined) throw new Error(`unknown identity ${id}`);
  const [deviceId, moduleId] = id.split('/') as [string, string | undefined];
  const password = sdkDeviceToken({ host: IOT_HUB, deviceId, ...(moduleId !== undefined ? { moduleId } : {}), key, expiry: Math.floor(Date.now() / 1000) + 3600 });
  return await connectAsync({
    host: '127.0.0.1',
    port,
    protocolVersion: 4,
    clientId: id,
    clean: options.clean ?? false,
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    username: `${IOT_HUB}/${id}/?api-version=2021-04-12`,
    password,
  });
}

/** The telemetry topic of module output `out` of `gw/<module>` carrying `props` as application properties. */
export function outputTopic(id: string, output: string, props: Record<string, string>): string {
  const bag = new URLSearchParams(props).toString();
  const [deviceId, moduleId] = id.split('/') as [string, string | undefined];
  const base = moduleId === undefined ? `devices/${deviceId}/messages/events/` : `devices/${deviceId}/modules/${moduleId}/messages/events/`;
  const outputPart = moduleId === undefined ? '' : `${bag === '' ? '' : '&'}%24.on=${output}`;
  return `${base}${bag}${outputPart}`;
}

/** Application and system properties of an input or C2D topic's property bag (the last segment). */
export function topicBag(topic: string): URLSearchParams {
  const last = topic.slice(topic.lastIndexOf('/') + 1);
  return new URLSearchParams(last);
}

/** Polls `probe` every 50 ms until it returns a value other than undefined; rejects after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when `--short` was passed to the chaos runner (it sets EDGEPORT_CHAOS_SHORT=1). */
export const SHORT = process.env['EDGEPORT_CHAOS_SHORT'] === '1';

/**
 * Publishes with QoS 1 and resolves `acked` on the PUBACK, `closed` when the connection closes
 * first (how the hub refuses a publish on MQTT 3.1.1), `timeout` after `timeoutMs`.
 */
export async function publishQos1(client: MqttClient, topic: string, body: string | Buffer, timeoutMs = 10_000): Promise<'acked' | 'closed' | 'timeout'> {
  if (!client.connected) return 'closed';
  return await new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (outcome: 'acked' | 'closed' | 'timeout'): void => {
      clearTimeout(timer);
      client.off('close', onClose);
      resolve(outcome);
    };
    const onClose = (): void => done('closed');
    client.once('close', onClose);
    timer = setTimeout(() => done('timeout'), timeoutMs);
    client.publish(topic, body, { qos: 1 }, (error) => done(error === undefined || error === null ? 'acked' : 'closed'));
  });
}

/** Collects the `seq` application property of every message a module receives on its inputs, by sender. */
export async function collectInputs(client: MqttClient, moduleId: string): Promise<Map<string, number[]>> {
  const bySender = new Map<string, number[]>();
  client.on('message', (topic) => {
    const bag = topicBag(topic);
    const seq = bag.get('seq');
    if (seq === null) return;
    const sender = `${bag.get('$.cdid') ?? ''}/${bag.get('$.cmid') ?? ''}`;
    let list = bySender.get(sender);
    if (list === undefined) bySender.set(sender, (list = []));
    list.push(Number(seq));
  });
  await client.subscribeAsync(`devices/${EDGE_DEVICE}/modules/${moduleId}/inputs/#`, { qos: 1 });
  return bySender;
}

/**
 * A module that publishes numbered QoS 1 messages one after another (`seq` property) for as long as
 * it runs, like a sensor with a retrying SDK: a refused publish (connection closed) or a refused
 * connection is retried after `retryMs` on a new connection, with the same number.
 */
export class SequencedPublisher {
  readonly acked: number[] = [];
  refusals = 0;
  connectFailures = 0;
  private seq = 0;
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly edge: EdgeUnderTest,
    readonly id: string,
    private readonly options: { paceMs?: number; retryMs?: number; body?: Buffer } = {},
  ) {}

  start(): this {
    this.done = this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    const body = this.options.body ?? Buffer.alloc(200, 0x63);
    let client: MqttClient | undefined;
    while (!this.stopped) {
      if (client === undefined || !client.connected) {
        client?.end(true);
        client = await this.edge.connect(this.id, { connectTimeoutMs: 5000 }).catch(() => undefined);
        if (client === undefined) {
          this.connectFailures++;
          await delay(this.options.retryMs ?? 200);
          continue;
        }
        client.on('error', () => undefined);
      }
      const outcome = await publishQos1(client, outputTopic(this.id, 'out', { seq: String(this.seq) }), body);
      if (outcome === 'acked') {
        this.acked.push(this.seq++);
        if (this.options.paceMs !== undefined) await delay(this.options.paceMs);
      } else {
        this.refusals++;
        client.end(true);
        client = undefined;
        await delay(this.options.retryMs ?? 200);
      }
    }
    await client?.endAsync().catch(() => undefined);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
