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
import type { DockerModuleSettings, ModuleSpec, RegistryCredential } from '../../domain/modules/module-spec.js';
import { credentialFor } from '../../domain/deployment/image-name.js';
import { OPEN_IMAGE_POLICY } from '../../domain/trust/image-policy.js';
import { containerLogs } from './docker-container-logs.js';
import { containerCreateOptions, type ContainerImage } from './docker-container-config.js';
import { moduleOfContainer, type TrackedModule } from './docker-container-state.js';
import { asUnavailable, messageOf, statusOf } from './docker-errors.js';
import { DockerEventStream, type DockerContainerEvent } from './docker-event-stream.js';
import { DockerImagePuller } from './docker-image-puller.js';
import { DockerImageVerifier, type ImageTrustOptions } from './docker-image-verifier.js';
import { credentialHash, LABELS } from './docker-labels.js';

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
  /** Minimum time between two `downloading` events of one pull (default 0.5 s). */
  downloadProgressIntervalMs?: number;
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
  /** `agent.trust`: images checked before they run (registries, required pins, moved tags, signatures); digest pins are always checked. */
  trust?: ImageTrustOptions;
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
  private readonly tracked = new Map<string, TrackedModule>();
  private readonly credentials = new Map<string, RegistryCredential>();
  private readonly listeners = new Set<(event: ModuleRuntimeEvent) => void>();
  private readonly stopTimeoutMs: number;
  private readonly labels: Readonly<Record<string, string>>;
  private readonly namePrefix: string;
  private readonly images: DockerImagePuller;
  private readonly events: DockerEventStream;
  /** Module -> image `prepare` got ready (and verified), consumed by the `create` that follows. */
  private readonly prepared = new Map<string, ContainerImage & { image: string }>();
  /** Image -> digest last accepted by the trust policy. */
  private readonly accepted = new Map<string, string>();
  private readonly verifier: DockerImageVerifier;

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
    this.images = new DockerImagePuller(this.docker, clock, logger, options);
    this.verifier = new DockerImageVerifier(this.docker, logger, options.trust ?? { policy: OPEN_IMAGE_POLICY, keys: [] });
    this.events = new DockerEventStream(this.docker, logger, this.labelFilters(), (event) => this.onDockerEvent(event), options.eventsReconnectMs);
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
    const listed = await this.docker.listContainers({ all: true, filters: { label: this.labelFilters() } }).catch((error: unknown) => {
      throw asUnavailable(error, this.options.socketPath ?? '/var/run/docker.sock');
    });
    const containers = listed
      // An agent without an instance name leaves named instances' containers alone.
      .filter((c) => (c.Labels?.[LABELS.instance] ?? '') === instance);
    const warn = (message: string, module: string): void => this.logger.warn(message, { module });
    const modules = await Promise.all(
      containers.map(async (c) => {
        try {
          const info = await this.docker.getContainer(c.Id).inspect();
          return moduleOfContainer(info, this.tracked.get(info.Config.Labels?.[LABELS.module] ?? '') ?? {}, this.credentials, warn);
        } catch (error) {
          if (statusOf(error) === 404) return undefined; // removed meanwhile
          throw error;
        }
      }),
    );
    return modules.filter((m): m is CurrentModule => m !== undefined).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The spec of a Docker module; other types are refused. */
  private dockerSpec(spec: ModuleSpec): ModuleSpec & { settings: DockerModuleSettings } {
    if (spec.settings.kind !== 'docker') {
      throw new UnsupportedModuleError(spec.name, `module "${spec.name}" has type "${spec.type}"; the docker runtime runs only type "docker" modules (set agent.runtime to "auto" or "process" for process modules)`);
    }
    return spec as ModuleSpec & { settings: DockerModuleSettings };
  }

  /**
   * Gets the image per `imagePullPolicy` (a pull reports `downloading` events with the bytes so
   * far) and, with a trust policy, verifies it, while the module's current container, if any,
   * keeps running.
   */
  override async prepare(spec: ModuleSpec): Promise<void> {
    const docker = this.dockerSpec(spec);
    const image = docker.settings.image;
    const module = spec.name;
    // A digest pin is honoured whatever the policy; the policy may ask more.
    const pinned = this.verifier.admit(module, image, docker.settings.digest);
    const verifying = this.verifier.active || pinned !== undefined;
    const previous = verifying && this.verifier.policy.refuseMovedTags ? await this.lastDigestOf(image) : undefined;
    const credential = spec.registryCredential ?? credentialFor(image, this.options.registryCredentials ?? []);
    const outcome = await this.images.ensureImage(module, image, spec.imagePullPolicy, credential, (progress) => {
      this.emit({ module, kind: 'downloading', time: this.clock.now(), image, progress });
    });
    if (!verifying) {
      this.prepared.set(module, { image, runAs: image, digest: outcome.digest });
      return;
    }
    const verified = await this.verifier.verify(module, image, pinned, outcome.digest, previous, credential);
    this.accepted.set(image, verified.digest);
    this.prepared.set(module, { image, ...verified });
  }

  /**
   * The digest `image` last ran from here: the one this runtime last accepted, else the
   * `edgeport.image-digest` label of a container created from it (they outlive agent restarts).
   */
  private async lastDigestOf(image: string): Promise<string | undefined> {
    const accepted = this.accepted.get(image);
    if (accepted !== undefined) return accepted;
    const containers = await this.docker.listContainers({ all: true, filters: { label: [...this.labelFilters(), `${LABELS.originalImage}=${image}`] } });
    return containers.map((c) => c.Labels?.[LABELS.imageDigest]).find((digest) => digest !== undefined);
  }

  async create(spec: ModuleSpec, env: Readonly<Record<string, string>>): Promise<void> {
    const docker = this.dockerSpec(spec);
    const image = docker.settings.image;
    // The plan prepares right before it creates; a create on its own prepares first.
    if (this.prepared.get(spec.name)?.image !== image) await this.prepare(spec);
    const source = this.prepared.get(spec.name) as ContainerImage;
    this.prepared.delete(spec.name);

    const name = this.containerName(spec.name);
    await this.removeExisting(spec.name, name);

    if (spec.registryCredential !== undefined) this.credentials.set(credentialHash(spec.registryCredential), spec.registryCredential);
    const params = containerCreateOptions(
      docker,
      env,
      name,
      { labels: this.labels, defaultNetworkMode: this.options.defaultNetworkMode, workloadSocket: this.options.workloadSocket },
      source,
    );
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
    yield* containerLogs(this.docker, info, options);
  }

  onEvent(listener: (event: ModuleRuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    this.events.watchInBackground();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Opens the event stream now (the lifecycle does so at start) and resolves once it is open. */
  async watchEvents(): Promise<void> {
    await this.events.watch();
  }

  /** Closes the Docker event stream (agent shutdown). Containers keep running, as with Azure. */
  async close(): Promise<void> {
    this.events.close();
  }

  /** Docker's container events as module events, minus the exits the agent caused. */
  private onDockerEvent({ module, action, time, attributes }: DockerContainerEvent): void {
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
