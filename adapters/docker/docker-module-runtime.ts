import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import {
  ModuleNotFoundError,
  ModuleRuntime,
  UnsupportedModuleError,
  type CurrentModule,
  type LogLine,
  type LogOptions,
  type ModuleRuntimeEvent,
} from '../../application/ports/module-runtime.js';
import { canonicalJson, DEFAULT_STARTUP_ORDER, type DesiredStatus, type ModuleSpec, type RegistryCredential } from '../../domain/modules/module-spec.js';
import type { ModuleRuntimeState, ObservedStatus } from '../../domain/modules/module-status.js';
import { credentialFor } from '../../domain/deployment/image-name.js';
import { DockerLogDemux, parseDockerTime } from './docker-log-demux.js';

/** Labels Edgeport puts on every container it creates. */
export const LABELS = {
  /** Azure's owner label, so Azure tooling recognises the containers as edge modules. */
  owner: 'net.azure-devices.edge.owner',
  originalImage: 'net.azure-devices.edge.original-image',
  module: 'edgeport.module',
  /** Canonical JSON of the spec the container was created from (without status and secrets). */
  spec: 'edgeport.spec',
  /** The desired status at creation; `list` prefers the status of the agent's last start/stop. */
  status: 'edgeport.status',
  /** SHA-256 of the registry credential used (never the credential itself). */
  credential: 'edgeport.registry-credential',
  /** Config `agent.dockerInstance`, when several Edgeports share an engine (set through `labels`). */
  instance: 'edgeport.instance',
} as const;

export const OWNER = 'Microsoft.Azure.Devices.Edge.Agent';

export interface DockerRuntimeOptions {
  /** Docker Engine API socket (default `/var/run/docker.sock`). */
  socketPath?: string;
  /** Grace time of `docker stop` when `stop` gets none (default 10 s). */
  stopTimeoutMs?: number;
  /**
   * Extra labels put on every container and used to select the containers this runtime owns
   * (tests label their containers with a run id; several agents may share one engine).
   */
  labels?: Readonly<Record<string, string>>;
  /** Prefix of container names (default none: the container is named after the module). */
  namePrefix?: string;
  /** `HostConfig.NetworkMode` when `createOptions` sets none (default: Docker's default). */
  defaultNetworkMode?: string;
  /** A pull still streaming after this long is abandoned (default 10 min). */
  pullTimeoutMs?: number;
  /** Minimum time between two pull progress log lines of one image (default 2 s). */
  pullProgressIntervalMs?: number;
  /** Wait before re-opening the Docker event stream after it ended (default 1 s). */
  eventsReconnectMs?: number;
  /**
   * Host path of the workload API socket. When a module's environment carries
   * `IOTEDGE_WORKLOADURI`, the socket's directory is bind-mounted at `/var/run/iotedge` and the
   * variable points there (`unix:///var/run/iotedge/<socket>`), as Azure mounts its workload socket.
   */
  workloadSocket?: string;
  /**
   * The device's own registry credentials (config `agent.registryCredentialsFile`): a pull whose
   * module has no credential from the deployment uses the one matching the image's registry. The
   * deployment's credential for a registry wins over these.
   */
  registryCredentials?: readonly RegistryCredential[];
}

/** Where containers see the workload socket's directory (Azure's `/var/run/iotedge`). */
export const WORKLOAD_MOUNT_DIR = '/var/run/iotedge';

/**
 * The workload socket for a container: its directory bind-mounted (a directory, not the socket
 * file, so a runtime restart that re-creates the socket reaches running containers) and the
 * environment's `IOTEDGE_WORKLOADURI` rewritten to the path inside the container.
 */
export function withWorkloadMount(env: Readonly<Record<string, string>>, binds: unknown, workloadSocket: string | undefined): { env: Record<string, string>; binds: unknown } {
  if (workloadSocket === undefined || env['IOTEDGE_WORKLOADURI'] === undefined) return { env: { ...env }, binds };
  const bind = `${dirname(workloadSocket)}:${WORKLOAD_MOUNT_DIR}`;
  return {
    env: { ...env, IOTEDGE_WORKLOADURI: `unix://${WORKLOAD_MOUNT_DIR}/${basename(workloadSocket)}` },
    binds: [...(Array.isArray(binds) ? binds.filter((b) => b !== bind) : []), bind],
  };
}

/** Something Docker answered with an HTTP status (dockerode errors carry `statusCode`). */
function statusOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (json !== undefined && json !== null && typeof json.message === 'string') return json.message.trim();
  const text = error instanceof Error ? error.message : String(error);
  // dockerode prefixes the engine's message with `(HTTP code 500) server error - `.
  return text.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

function credentialHash(credential: RegistryCredential): string {
  return createHash('sha256').update(canonicalJson(credential)).digest('hex');
}

/** `NAME=value` list to a map, keeping the last of duplicates. */
function envMap(list: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq < 0) map.set(entry, entry);
    else map.set(entry.slice(0, eq), entry);
  }
  return map;
}

/**
 * The container environment: the agent's module environment, then `createOptions.Env`, whose
 * entries override same-named variables (edgelet `merge_env`).
 */
export function mergeEnv(moduleEnv: Readonly<Record<string, string>>, createEnv: unknown): string[] {
  const merged = envMap(Object.entries(moduleEnv).map(([k, v]) => `${k}=${v}`));
  if (Array.isArray(createEnv)) {
    for (const [name, entry] of envMap(createEnv.filter((e): e is string => typeof e === 'string'))) merged.set(name, entry);
  }
  return [...merged.values()];
}

/** `timeNano` of a Docker event, read from the raw JSON (it does not fit a double exactly). */
function eventNano(raw: string, seconds: number | undefined): bigint | undefined {
  const match = /"timeNano"\s*:\s*(\d+)/.exec(raw);
  if (match?.[1] !== undefined) return BigInt(match[1]);
  return seconds === undefined ? undefined : BigInt(seconds) * 1_000_000_000n;
}

/** Nanoseconds since the epoch as Docker's `since` text: `seconds.nanoseconds`. */
function nanoToSeconds(nano: bigint): string {
  return `${nano / 1_000_000_000n}.${(nano % 1_000_000_000n).toString().padStart(9, '0')}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Docker state -> runtime status (edgelet `runtime_state`). */
function observedStatus(state: Docker.ContainerInspectInfo['State']): ObservedStatus {
  switch (state.Status) {
    case 'running':
      return state.Health?.Status === 'unhealthy' ? 'unhealthy' : 'running';
    case 'created':
    case 'paused':
    case 'restarting':
      return 'stopped';
    case 'exited':
    case 'removing':
      return state.ExitCode === 0 ? 'stopped' : 'failed';
    case 'dead':
      return 'dead';
    default:
      return 'unknown';
  }
}

/**
 * When the container became unhealthy: the end of the health check that made the failing streak
 * reach `retries` (the log keeps the last five checks), or the earliest failure still logged.
 */
function unhealthySinceOf(info: Docker.ContainerInspectInfo): number | undefined {
  const health = info.State.Health;
  if (health === undefined || health.Status !== 'unhealthy') return undefined;
  const log = health.Log ?? [];
  const retries = (info.Config.Healthcheck as { Retries?: number } | undefined)?.Retries ?? 3;
  const streakStart = log.length - health.FailingStreak;
  const index = Math.max(0, Math.min(log.length - 1, streakStart + Math.max(1, retries) - 1));
  return parseDockerTime(log[index]?.End);
}

interface Tracked {
  /** Desired status last applied by start/stop. */
  status?: DesiredStatus;
  /** The agent stopped the container: its exit is `stopped` whatever the code, and no event. */
  stopRequested?: boolean;
  /** Time of Docker's `health_status: unhealthy` event for the current run, when seen. */
  unhealthyAt?: number;
}

/**
 * Runs `type: "docker"` modules as containers through the Docker Engine API (dockerode). The
 * container is the state: `list` rebuilds each module's spec from the labels it was created with,
 * so an agent restart finds its modules again. What only the agent knows (the desired status of
 * its last start/stop, that a stop was requested, registry credentials) is kept in memory and
 * falls back to the labels after a restart.
 */
export class DockerModuleRuntime extends ModuleRuntime {
  readonly kind = 'docker';
  readonly docker: Docker;
  private readonly tracked = new Map<string, Tracked>();
  private readonly credentials = new Map<string, RegistryCredential>();
  private readonly listeners = new Set<(event: ModuleRuntimeEvent) => void>();
  private readonly stopTimeoutMs: number;
  private readonly labels: Readonly<Record<string, string>>;
  private readonly namePrefix: string;
  private events: Readable | undefined;
  private eventsWanted = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: DockerRuntimeOptions = {},
  ) {
    super();
    this.docker = new Docker({ socketPath: options.socketPath ?? '/var/run/docker.sock' });
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.labels = options.labels ?? {};
    this.namePrefix = options.namePrefix ?? '';
  }

  /** Container name of a module. */
  containerName(module: string): string {
    return `${this.namePrefix}${module}`;
  }

  private labelFilters(): string[] {
    return [LABELS.module, ...Object.entries(this.labels).map(([k, v]) => `${k}=${v}`)];
  }

  async list(): Promise<CurrentModule[]> {
    const instance = this.labels[LABELS.instance] ?? '';
    const containers = (await this.docker.listContainers({ all: true, filters: { label: this.labelFilters() } }))
      // An agent without an instance name leaves named instances' containers alone.
      .filter((c) => (c.Labels?.[LABELS.instance] ?? '') === instance);
    const modules = await Promise.all(
      containers.map(async (c) => {
        try {
          return this.toCurrent(await this.docker.getContainer(c.Id).inspect());
        } catch (error) {
          if (statusOf(error) === 404) return undefined; // removed meanwhile
          throw error;
        }
      }),
    );
    return modules.filter((m): m is CurrentModule => m !== undefined).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private toCurrent(info: Docker.ContainerInspectInfo): CurrentModule | undefined {
    const labels = info.Config.Labels ?? {};
    const name = labels[LABELS.module];
    const specJson = labels[LABELS.spec];
    if (name === undefined) return undefined;
    let stored: Omit<ModuleSpec, 'status'>;
    try {
      stored = JSON.parse(specJson ?? '') as Omit<ModuleSpec, 'status'>;
    } catch {
      // Still listed, with a spec no deployment has: the planner re-creates or removes it.
      this.logger.warn(`container ${info.Name} has no readable ${LABELS.spec} label; the agent will re-create or remove it`, { module: name });
      stored = {
        name,
        version: '',
        type: 'docker',
        restartPolicy: 'never',
        imagePullPolicy: 'never',
        startupOrder: DEFAULT_STARTUP_ORDER,
        env: {},
        settings: { kind: 'docker', image: labels[LABELS.originalImage] ?? info.Config.Image, createOptions: {} },
      };
    }
    const tracked = this.tracked.get(name) ?? {};
    const labelStatus = labels[LABELS.status] === 'stopped' ? 'stopped' : 'running';
    const spec: ModuleSpec = { ...stored, status: tracked.status ?? labelStatus };
    const hash = labels[LABELS.credential];
    if (hash !== undefined) {
      const credential = this.credentials.get(hash);
      if (credential !== undefined) spec.registryCredential = credential;
    }
    const state = info.State;
    let status = observedStatus(state);
    const exitCode = state.ExitCode ?? 0;
    const startedAt = parseDockerTime(state.StartedAt);
    const exitedAt = state.Running ? undefined : parseDockerTime(state.FinishedAt);
    if (tracked.stopRequested === true && status === 'failed') status = 'stopped';
    let statusDescription: string;
    if (state.Status === 'running') statusDescription = status === 'unhealthy' ? 'running (unhealthy)' : 'running';
    else if (state.Status === 'created') statusDescription = 'created';
    else if (state.Status === 'exited') statusDescription = state.OOMKilled ? `exited (${exitCode}, out of memory)` : `exited (${exitCode})`;
    else statusDescription = state.Status;
    if (state.Error) statusDescription += `: ${state.Error}`;
    const result: ModuleRuntimeState = { status, exitCode, statusDescription, id: info.Id.slice(0, 12) };
    if (startedAt !== undefined) result.startedAt = startedAt;
    if (exitedAt !== undefined) result.exitedAt = exitedAt;
    // The event's time is exact; the health log only keeps the last five checks.
    const unhealthySince = tracked.unhealthyAt ?? unhealthySinceOf(info);
    if (status === 'unhealthy' && unhealthySince !== undefined) result.unhealthySince = unhealthySince;
    return { name, spec, state: result };
  }

  async create(spec: ModuleSpec, env: Readonly<Record<string, string>>): Promise<void> {
    if (spec.settings.kind !== 'docker') {
      throw new UnsupportedModuleError(spec.name, `module "${spec.name}" has type "${spec.type}"; the docker runtime runs only type "docker" modules (set agent.runtime to "auto" or "process" for process modules)`);
    }
    const { image, createOptions } = spec.settings;
    await this.ensureImage(spec.name, image, spec.imagePullPolicy, spec.registryCredential ?? credentialFor(image, this.options.registryCredentials ?? []));

    const name = this.containerName(spec.name);
    await this.removeExisting(spec.name, name);

    const { registryCredential, status: _status, ...identity } = spec;
    const labels: Record<string, string> = {
      ...(isRecord(createOptions['Labels']) ? (createOptions['Labels'] as Record<string, string>) : {}),
      ...this.labels,
      [LABELS.owner]: OWNER,
      [LABELS.originalImage]: image,
      [LABELS.module]: spec.name,
      [LABELS.spec]: canonicalJson(identity),
      [LABELS.status]: spec.status,
    };
    if (registryCredential !== undefined) {
      const hash = credentialHash(registryCredential);
      this.credentials.set(hash, registryCredential);
      labels[LABELS.credential] = hash;
    }
    const hostConfig: Record<string, unknown> = isRecord(createOptions['HostConfig']) ? { ...createOptions['HostConfig'] } : {};
    if (hostConfig['NetworkMode'] === undefined && this.options.defaultNetworkMode !== undefined) hostConfig['NetworkMode'] = this.options.defaultNetworkMode;
    const workload = withWorkloadMount(env, hostConfig['Binds'], this.options.workloadSocket);
    if (workload.binds !== undefined) hostConfig['Binds'] = workload.binds;
    const params = {
      ...createOptions,
      name,
      Image: image,
      Env: mergeEnv(workload.env, createOptions['Env']),
      Labels: labels,
      HostConfig: hostConfig,
    } as Docker.ContainerCreateOptions;
    try {
      await this.docker.createContainer(params);
    } catch (error) {
      throw new Error(`cannot create container ${name} from ${image}: ${messageOf(error)}`, { cause: error });
    }
    this.tracked.set(spec.name, { status: spec.status });
    this.logger.info(`created container ${name} from ${image}`, { module: spec.name, image });
  }

  /** A container of the same name: ours (stopped) is replaced; a foreign or running one is an error. */
  private async removeExisting(module: string, name: string): Promise<void> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(name).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw error;
    }
    if (info.Config.Labels?.[LABELS.module] !== module) {
      throw new Error(`a container named ${name} exists that Edgeport did not create; remove or rename it to deploy module "${module}"`);
    }
    if (info.State.Running) throw new Error(`module "${module}" is running; stop it before re-creating it`);
    await this.docker.getContainer(info.Id).remove({ force: true, v: true });
  }

  private async imagePresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** `on-create`: pull (with the registry credential); `never`: the image must be on this machine. */
  private async ensureImage(module: string, image: string, policy: ModuleSpec['imagePullPolicy'], credential: RegistryCredential | undefined): Promise<void> {
    if (policy === 'never') {
      if (!(await this.imagePresent(image))) {
        throw new Error(`image ${image} is not on this machine and imagePullPolicy is "never": load it (docker pull / docker load) or set imagePullPolicy to "on-create"`);
      }
      return;
    }
    try {
      await this.pull(module, image, credential);
    } catch (error) {
      const reason = messageOf(error);
      // Offline edge devices must still be able to re-create a module from the image they have.
      if (await this.imagePresent(image)) {
        this.logger.warn(`pulling ${image} failed (${reason}); using the image already on this machine`, { module, image });
        return;
      }
      throw new Error(`cannot pull image ${image}${credential === undefined ? ' (no registry credential matches its registry)' : ` with the credential of ${credential.address}`}: ${reason}`, { cause: error });
    }
  }

  private async pull(module: string, image: string, credential: RegistryCredential | undefined): Promise<void> {
    const timeoutMs = this.options.pullTimeoutMs ?? 600_000;
    const abort = new AbortController();
    // Real timers: this waits on the registry, whatever clock the agent logic uses. The signal
    // covers the request too: the engine may answer only once the registry does.
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    timer.unref();
    const timedOut = (): Error => new Error(`the pull did not finish within ${Math.round(timeoutMs / 1000)} s`);
    const options: Record<string, unknown> = { abortSignal: abort.signal };
    if (credential !== undefined) {
      options['authconfig'] = { username: credential.username, password: credential.password, serveraddress: credential.address };
    }
    this.logger.info(`pulling ${image}`, { module, image });
    try {
      let stream: Readable;
      try {
        stream = (await this.docker.pull(image, options)) as Readable;
      } catch (error) {
        throw abort.signal.aborted ? timedOut() : error;
      }
      await this.followPull(module, image, stream, abort.signal, timedOut);
    } finally {
      clearTimeout(timer);
    }
    this.logger.info(`pulled ${image}`, { module, image });
  }

  /** Reads the pull's progress stream: throttled progress logs; an `errorDetail` fails the pull. */
  private async followPull(module: string, image: string, stream: Readable, signal: AbortSignal, timedOut: () => Error): Promise<void> {
    const interval = this.options.pullProgressIntervalMs ?? 2000;
    let lastLog = Number.NEGATIVE_INFINITY;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        stream.destroy();
        reject(timedOut());
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      let buffer = '';
      let failure: string | undefined;
      const line = (text: string): void => {
        if (text.trim() === '') return;
        let event: { status?: string; progress?: string; id?: string; error?: string; errorDetail?: { message?: string } };
        try {
          event = JSON.parse(text) as typeof event;
        } catch {
          return;
        }
        if (event.error !== undefined || event.errorDetail !== undefined) {
          failure = event.errorDetail?.message ?? event.error ?? 'pull failed';
          return;
        }
        const now = this.clock.now();
        if (now - lastLog >= interval) {
          lastLog = now;
          this.logger.info(`pulling ${image}: ${[event.id, event.status, event.progress].filter(Boolean).join(' ')}`, { module, image });
        }
      };
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          line(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      });
      stream.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? timedOut() : error);
      });
      stream.once('end', () => {
        signal.removeEventListener('abort', onAbort);
        line(buffer);
        if (failure !== undefined) reject(new Error(failure));
        else resolve();
      });
    });
  }

  private container(module: string): Docker.Container {
    return this.docker.getContainer(this.containerName(module));
  }

  async start(module: string): Promise<void> {
    // Before the call: a container that dies at once must count as an exit of its own, even when
    // Docker's `die` event arrives before the start's answer.
    this.tracked.set(module, { ...this.tracked.get(module), status: 'running', stopRequested: false, unhealthyAt: undefined });
    try {
      await this.container(module).start();
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) {
        this.tracked.delete(module);
        throw new ModuleNotFoundError(module);
      }
      if (status !== 304) throw new Error(`cannot start module "${module}": ${messageOf(error)}`, { cause: error });
    }
  }

  async stop(module: string, timeoutMs = this.stopTimeoutMs): Promise<void> {
    const tracked = this.tracked.get(module) ?? {};
    this.tracked.set(module, { ...tracked, status: 'stopped', stopRequested: true });
    try {
      await this.container(module).stop({ t: Math.max(0, Math.ceil(timeoutMs / 1000)) });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) {
        this.tracked.delete(module);
        return;
      }
      if (status !== 304) throw new Error(`cannot stop module "${module}": ${messageOf(error)}`, { cause: error });
    }
  }

  async remove(module: string): Promise<void> {
    // A forced removal kills a running container: not an exit of its own.
    this.tracked.set(module, { ...this.tracked.get(module), stopRequested: true });
    try {
      await this.container(module).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      if (status !== 404) throw new Error(`cannot remove module "${module}": ${messageOf(error)}`, { cause: error });
    }
    this.tracked.delete(module);
  }

  async *logs(module: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.container(module).inspect();
    } catch (error) {
      if (statusOf(error) === 404) throw new ModuleNotFoundError(module);
      throw error;
    }
    const { since, until, tail } = options;
    if (tail !== undefined && tail <= 0 && options.follow !== true) return;
    const follow = options.follow === true;
    const query: Record<string, unknown> = { stdout: true, stderr: true, timestamps: true, follow };
    if (tail !== undefined) query['tail'] = Math.max(0, tail);
    if (since !== undefined) query['since'] = (since / 1000).toFixed(3);
    if (until !== undefined && !follow) query['until'] = (until / 1000).toFixed(3);
    const raw: unknown = await this.docker.getContainer(info.Id).logs(query as unknown as Docker.ContainerLogsOptions & { follow: true });
    const queue: LogLine[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    const demux = new DockerLogDemux(!info.Config.Tty, (line) => {
      queue.push(line);
    });
    const notify = (): void => {
      wake?.();
    };
    let stream: Readable | undefined;
    if (Buffer.isBuffer(raw)) {
      demux.push(raw);
      demux.flush();
      ended = true;
    } else {
      stream = raw as Readable;
      stream.on('data', (chunk: Buffer) => {
        demux.push(chunk);
        notify();
      });
      const end = (): void => {
        demux.flush();
        ended = true;
        notify();
      };
      stream.once('end', end);
      stream.once('close', end);
      stream.once('error', end);
    }
    const onAbort = (): void => {
      stream?.destroy();
      ended = true;
      notify();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          if (since !== undefined && next.time < since) continue;
          if (until !== undefined && next.time >= until) return;
          yield next;
          continue;
        }
        if (ended || options.signal?.aborted === true) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      stream?.destroy();
    }
  }

  onEvent(listener: (event: ModuleRuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.eventsWanted) {
      this.eventsWanted = true;
      void this.openEvents();
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Opens the event stream now (the lifecycle does so at start) and resolves once it is open. */
  async watchEvents(): Promise<void> {
    this.eventsWanted = true;
    if (this.events === undefined) await this.openEvents();
  }

  /** Closes the Docker event stream (agent shutdown). Containers keep running, as with Azure. */
  async close(): Promise<void> {
    this.eventsWanted = false;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const events = this.events;
    this.events = undefined;
    events?.destroy();
  }

  private opening: Promise<void> | undefined;
  /** Time of the newest event seen (ns; beyond a double's precision, hence bigint). */
  private lastEventNano: bigint | undefined;
  /** Events seen at `lastEventNano`, to drop their replay. */
  private readonly seenAtLastNano = new Set<string>();
  /** While replaying after a reconnect: events up to this time were (maybe) seen already. */
  private replayUpTo: bigint | undefined;

  private async openEvents(): Promise<void> {
    if (this.opening !== undefined) return await this.opening;
    this.opening = this.connectEvents().finally(() => {
      this.opening = undefined;
    });
    await this.opening;
  }

  private async connectEvents(): Promise<void> {
    if (!this.eventsWanted || this.events !== undefined) return;
    let stream: Readable;
    const options: Record<string, unknown> = {
      filters: { type: ['container'], event: ['start', 'die', 'health_status'], label: this.labelFilters() },
    };
    // After a reconnect, replay what happened while the stream was down (Docker keeps recent events).
    if (this.lastEventNano !== undefined) {
      options['since'] = nanoToSeconds(this.lastEventNano);
      this.replayUpTo = this.lastEventNano;
    }
    try {
      stream = (await this.docker.getEvents(options)) as Readable;
    } catch (error) {
      this.logger.warn(`cannot open the Docker event stream: ${messageOf(error)}; retrying`);
      this.scheduleReconnect();
      return;
    }
    if (!this.eventsWanted) {
      stream.destroy();
      return;
    }
    this.events = stream;
    // Without any event yet, a reconnect replays from the moment this stream opened.
    this.lastEventNano ??= BigInt(Date.now()) * 1_000_000n;
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        this.onDockerEvent(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    });
    const ended = (): void => {
      if (this.events !== stream) return;
      this.events = undefined;
      if (this.eventsWanted) {
        this.logger.warn('the Docker event stream ended; reconnecting');
        this.scheduleReconnect();
      }
    };
    stream.once('end', ended);
    stream.once('close', ended);
    stream.once('error', ended);
  }

  private scheduleReconnect(): void {
    if (!this.eventsWanted || this.reconnectTimer !== undefined) return;
    // Real timers: this waits on the Docker engine, whatever clock the agent logic uses.
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.openEvents();
    }, this.options.eventsReconnectMs ?? 1000);
    this.reconnectTimer.unref();
  }

  private onDockerEvent(text: string): void {
    if (text.trim() === '') return;
    let event: { Action?: string; status?: string; time?: number; Actor?: { Attributes?: Record<string, string> } };
    try {
      event = JSON.parse(text) as typeof event;
    } catch {
      return;
    }
    const attributes = event.Actor?.Attributes ?? {};
    const module = attributes[LABELS.module];
    if (module === undefined) return;
    const nano = eventNano(text, event.time);
    if (nano !== undefined) {
      // The replay after a reconnect may repeat events seen before it: skip those.
      const replayedUpTo = this.replayUpTo;
      if (replayedUpTo !== undefined) {
        if (nano < replayedUpTo || (nano === replayedUpTo && this.seenAtLastNano.has(text))) return;
        if (nano > replayedUpTo) this.replayUpTo = undefined;
      }
      if (this.lastEventNano === undefined || nano > this.lastEventNano) {
        this.seenAtLastNano.clear();
        this.lastEventNano = nano;
      }
      if (nano === this.lastEventNano) this.seenAtLastNano.add(text);
    }
    const time = nano !== undefined ? Number(nano / 1_000_000n) : (event.time ?? 0) * 1000;
    const action = event.Action ?? event.status ?? '';
    const tracked = this.tracked.get(module);
    if (action === 'start') {
      if (tracked !== undefined) tracked.unhealthyAt = undefined;
      this.emit({ module, kind: 'started', time });
    } else if (action === 'die') {
      if (this.tracked.get(module)?.stopRequested === true) return;
      const exitCode = Number(attributes['exitCode'] ?? '0');
      this.logger.info(`module ${module} exited with ${exitCode}`, { module, exitCode });
      this.emit({ module, kind: 'exited', time, exitCode });
    } else if (action.startsWith('health_status')) {
      const health = action.slice(action.indexOf(':') + 1).trim();
      if (health === 'unhealthy') {
        if (tracked !== undefined && tracked.unhealthyAt === undefined) tracked.unhealthyAt = time;
        this.logger.warn(`module ${module} is unhealthy`, { module });
        this.emit({ module, kind: 'unhealthy', time });
      } else if (health === 'healthy') {
        if (tracked !== undefined) tracked.unhealthyAt = undefined;
        this.emit({ module, kind: 'healthy', time });
      }
    }
  }

  private emit(event: ModuleRuntimeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn(`module event listener failed: ${(error as Error).message}`);
      }
    }
  }
}
