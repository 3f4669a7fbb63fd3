import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port.js';
import { Message, ModuleClient, Mqtt } from '../support/mqtt/sdk.js';
import { EDGEPORT_BIN, RuntimeProcess } from '../support/runtime-process.js';

/**
 * `edgeport run --only hub` as a child process for the attack tests (test/security/), so that its
 * RSS is the hub's alone: free loopback ports for every listener (MQTT TLS and plain, AMQP, HTTPS
 * with the WebSocket transports, metrics), a manifest routing every message to `receiver`'s input
 * `in`, identities `gw/sender`, `gw/receiver`, `gw/fresh` (a client connecting during an attack)
 * and `gw/victim` (the target of forged logins), and `hub.limits.*` from the test.
 *
 * Attackers connect from 127.0.0.2 and up (all of 127.0.0.0/8 is loopback on Linux), so that the
 * per-source limits and back-off they earn do not apply to the well-behaved clients on 127.0.0.1.
 */

export const DEVICE = 'gw';
export const IOT_HUB = 'attacked.azure-devices.net';

export interface HubPorts {
  readonly mqtts: number;
  readonly mqtt: number;
  readonly amqps: number;
  readonly https: number;
  readonly metrics: number;
}

export interface AttackedHub {
  readonly run: RuntimeProcess;
  readonly pid: number;
  readonly ports: HubPorts;
  /** Edge CA PEM: what clients trust. */
  readonly ca: string;
  /** Primary keys by module name (`sender`, `receiver`, `fresh`, `victim`). */
  readonly keys: Readonly<Record<string, string>>;
  /** SDK connection strings (MQTT over TLS through this hub) by module name. */
  readonly connectionStrings: Readonly<Record<string, string>>;
  /** The hub process's resident set size now, in bytes (`/proc/<pid>/status` VmRSS). */
  rssBytes(): number;
  /** Log lines (JSON) from index `since` on whose `msg` is `message`, optionally with `fields` equal. */
  logLines(message: string, fields?: Record<string, unknown>, since?: number): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

const manifest = {
  modulesContent: {
    $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
    $edgeHub: {
      'properties.desired': {
        schemaVersion: '1.1',
        routes: { toReceiver: 'FROM /messages/* INTO BrokeredEndpoint("/modules/receiver/inputs/in")' },
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      },
    },
  },
};

export async function startAttackedHub(limits: Record<string, number> = {}): Promise<AttackedHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-security-'));
  const ports: HubPorts = { mqtts: await freePort(), mqtt: await freePort(), amqps: await freePort(), https: await freePort(), metrics: await freePort() };
  writeFileSync(join(dataDir, 'deployment.json'), JSON.stringify(manifest));
  const env: Record<string, string> = {
    EDGEPORT_DEVICE_ID: DEVICE,
    EDGEPORT_IOT_HUB_HOSTNAME: IOT_HUB,
    EDGEPORT_AGENT_MANIFEST: join(dataDir, 'deployment.json'),
    EDGEPORT_HUB_MQTT_HOST: '127.0.0.1',
    EDGEPORT_HUB_MQTT_PORT: String(ports.mqtts),
    EDGEPORT_HUB_MQTT_PLAIN_PORT: String(ports.mqtt),
    EDGEPORT_HUB_AMQP_HOST: '127.0.0.1',
    EDGEPORT_HUB_AMQP_PORT: String(ports.amqps),
    EDGEPORT_HUB_HTTPS_HOST: '127.0.0.1',
    EDGEPORT_HUB_HTTPS_PORT: String(ports.https),
    EDGEPORT_METRICS_HOST: '127.0.0.1',
    EDGEPORT_METRICS_PORT: String(ports.metrics),
  };
  for (const [key, value] of Object.entries(limits)) env[`EDGEPORT_HUB_LIMITS_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`] = String(value);
  const cliEnv: NodeJS.ProcessEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEPORT_'))), ...env, EDGEPORT_DATA_DIR: dataDir };
  const keys: Record<string, string> = {};
  const connectionStrings: Record<string, string> = {};
  for (const module of ['sender', 'receiver', 'fresh', 'victim']) {
    const added = spawnSync(process.execPath, [EDGEPORT_BIN, 'identity', 'add', `${DEVICE}/${module}`], { env: cliEnv, encoding: 'utf8', timeout: 30_000 });
    if (added.status !== 0) throw new Error(`identity add ${module}: ${added.stderr}`);
    const line = added.stdout.split('\n').find((l) => l.startsWith('connectionString: '));
    if (line === undefined) throw new Error(`identity add ${module} printed no connection string: ${added.stdout}`);
    connectionStrings[module] = line.slice('connectionString: '.length);
    keys[module] = /SharedAccessKey=([^;]+)/.exec(connectionStrings[module])![1]!;
  }
  const run = new RuntimeProcess(dataDir, env, ['--only', 'hub']);
  try {
    await run.until('edgeport running', 30_000, () => (run.lines.some((l) => String(l['msg']).startsWith('edgeport running')) ? true : undefined));
    await run.until('routes applied', 10_000, () => (run.lines.some((l) => /routes applied: 1/.test(String(l['msg']))) ? true : undefined));
  } catch (error) {
    await run.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const pid = Number(run.lines.find((l) => typeof l['pid'] === 'number')?.['pid']);
  const ca = readFileSync(join(dataDir, 'certs', 'edge-ca.cert.pem'), 'utf8');
  return {
    run,
    pid,
    ports,
    ca,
    keys,
    connectionStrings,
    rssBytes() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
    },
    logLines(message, fields = {}, since = 0) {
      return run.lines.slice(since).filter((l) => l['msg'] === message && Object.entries(fields).every(([k, v]) => JSON.stringify(l[k]) === JSON.stringify(v)));
    },
    async stop() {
      await run.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Samples the hub's RSS every 50 ms while an attack runs; `growth()` is the largest increase over the baseline taken at creation. */
export class RssWatch {
  readonly baseline: number;
  private peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly hub: AttackedHub) {
    this.baseline = hub.rssBytes();
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), 50);
    this.timer.unref(); // a failed assertion before stop() must not keep the test process alive
  }

  sample(): void {
    try {
      this.peak = Math.max(this.peak, this.hub.rssBytes());
    } catch {
      // the hub exited: the test's own checks report it
    }
  }

  /** Stops sampling; the peak growth in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak - this.baseline;
  }
}

export const MB = 1024 * 1024;

/**
 * The well-behaved side: SDK module `sender` sends a numbered output every `intervalMs` (each send
 * waits for its PUBACK) and `receiver` records when each arrives on input `in`, both over MQTT/TLS
 * from 127.0.0.1. `delivered(from, to)` counts arrivals in a time window.
 */
export class Traffic {
  readonly arrivals: Array<{ n: number; at: number }> = [];
  readonly errors: string[] = [];
  private sender: ModuleClient | undefined;
  private receiver: ModuleClient | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly hub: AttackedHub, private readonly intervalMs = 50) {}

  async start(): Promise<void> {
    this.receiver = await openModule(this.hub, 'receiver');
    this.receiver.on('inputMessage', (_input: string, message: Message) => {
      this.arrivals.push({ n: Number(message.getBytes().toString()), at: Date.now() });
      void this.receiver!.complete(message, () => undefined);
    });
    this.sender = await openModule(this.hub, 'sender');
    this.running = true;
    this.loop = (async () => {
      for (let n = 0; this.running; n++) {
        try {
          await this.sender!.sendOutputEvent('out', new Message(String(n)));
        } catch (error) {
          this.errors.push(error instanceof Error ? error.message : String(error));
        }
        await new Promise((r) => setTimeout(r, this.intervalMs));
      }
    })();
    await this.waitFor(1, 10_000);
  }

  delivered(from: number, to = Date.now()): number {
    return this.arrivals.filter((a) => a.at >= from && a.at <= to).length;
  }

  /** Resolves when `count` more messages have arrived, rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const target = this.arrivals.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.arrivals.length < target) {
      if (Date.now() > deadline) throw new Error(`only ${this.arrivals.length - target + count} of ${count} messages routed in ${timeoutMs} ms; sender errors: ${this.errors.join('; ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.sender?.close().catch(() => undefined);
    await this.receiver?.close().catch(() => undefined);
  }
}

/** What an attack test works with: the well-behaved traffic, the RSS watch started after warm-up, when the attack began and the hub's log index then. */
export interface AttackScene {
  readonly traffic: Traffic;
  readonly watch: RssWatch;
  readonly from: number;
  readonly since: number;
}

/**
 * Starts the well-behaved traffic on `hub` (warmed by 10 routed messages, so the RSS baseline
 * includes the routing path) and the RSS watch, runs `attack`, then stops the traffic. Tests of
 * one file share a hub (its start is most of a test's time): they attack from their own addresses
 * and read the log from `since`.
 */
export async function underAttack(hub: AttackedHub, attack: (scene: AttackScene) => Promise<void>): Promise<void> {
  const traffic = new Traffic(hub);
  let watch: RssWatch | undefined;
  try {
    await traffic.start();
    await traffic.waitFor(10, 10_000);
    watch = new RssWatch(hub);
    await attack({ traffic, watch, from: Date.now(), since: hub.run.lines.length });
  } finally {
    watch?.stop();
    await traffic.stop();
  }
}

/** An SDK module client (MQTT over TLS) of `hub`, open. */
export async function openModule(hub: AttackedHub, module: string): Promise<ModuleClient> {
  const client = ModuleClient.fromConnectionString(hub.connectionStrings[module]!, Mqtt);
  await client.setOptions({ ca: hub.ca });
  await withTimeout(10_000, `${module} open`, client.open());
  return client;
}

/** Rejects after `ms` naming `what`. */
export async function withTimeout<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A new SDK client (`fresh`) connects, sends one output and `receiver` (listening in `traffic`) gets it. */
export async function freshClientRoutes(hub: AttackedHub, traffic: Traffic): Promise<void> {
  const client = await openModule(hub, 'fresh');
  try {
    const before = traffic.arrivals.length;
    await withTimeout(10_000, 'fresh sender output', client.sendOutputEvent('out', new Message('-1')));
    const deadline = Date.now() + 10_000;
    while (!traffic.arrivals.slice(before).some((a) => a.n === -1)) {
      if (Date.now() > deadline) throw new Error('the fresh client message was not routed');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await client.close().catch(() => undefined);
  }
}
