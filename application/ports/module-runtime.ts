import type { DownloadProgress } from '../../domain/modules/module-preparation.js';
import type { ModuleSpec } from '../../domain/modules/module-spec.js';
import type { CurrentModule } from '../../domain/modules/planner.js';

export type { CurrentModule } from '../../domain/modules/planner.js';

/** One line of module output. */
export interface LogLine {
  /** Epoch ms when the runtime captured the line. */
  time: number;
  stream: 'stdout' | 'stderr';
  /** The line without its trailing newline. */
  text: string;
}

export interface LogOptions {
  /** Only the last `tail` lines (all when omitted). */
  tail?: number;
  /** Only lines captured at or after this epoch ms. */
  since?: number;
  /** Only lines captured before this epoch ms (`iotedge logs --until`); ends a follow there too. */
  until?: number;
  /** Keep yielding new lines until the module stops or `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * Something happened to a module outside the agent's commands (it exited, became unhealthy), or
 * while preparing it (`downloading`: progress of its image pull, throttled by the runtime).
 */
export interface ModuleRuntimeEvent {
  module: string;
  kind: 'started' | 'exited' | 'unhealthy' | 'healthy' | 'downloading';
  time: number;
  exitCode?: number;
  /** `downloading`: the image and the bytes so far. */
  image?: string;
  progress?: DownloadProgress;
}

/** A module the runtime does not know. */
export class ModuleNotFoundError extends Error {
  readonly code = 'EDGEPORT_MODULE_NOT_FOUND';
  constructor(readonly module: string) {
    super(`module "${module}" does not exist in the module runtime`);
    this.name = 'ModuleNotFoundError';
  }
}

/** The runtime cannot run this kind of module (e.g. a Docker module on the process runtime). */
export class UnsupportedModuleError extends Error {
  readonly code = 'EDGEPORT_MODULE_UNSUPPORTED';
  constructor(
    readonly module: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnsupportedModuleError';
  }
}

/**
 * The runtime's engine does not answer (the Docker daemon stopped or restarting): what modules
 * exist is unknown until it is back. The agent retries on its next pass; the management API
 * answers 503 with this message instead of a bare socket error.
 */
export class RuntimeUnavailableError extends Error {
  readonly code = 'EDGEPORT_RUNTIME_UNAVAILABLE';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'RuntimeUnavailableError';
  }
}

/**
 * Where modules run: Docker containers or plain processes. The agent's plan runner drives it with
 * create/start/stop/remove; `list` reports what exists and in which state. Every operation is
 * idempotent where that makes sense: stopping a stopped module or removing a missing one succeeds.
 */
export abstract class ModuleRuntime {
  /** `docker` or `process`; which module `type`s it runs. */
  abstract readonly kind: string;
  /**
   * Every module this runtime manages, with the spec it was created from and its state. The
   * spec's `status` follows the agent's last `start` (`running`) or `stop` (`stopped`), not the
   * module exiting on its own: it is the desired status last applied.
   */
  abstract list(): Promise<CurrentModule[]>;
  /**
   * Gets what `spec` needs before it can be created, without touching the module that runs now:
   * a Docker image pulled (reporting `downloading` events) and verified, a program's checksum.
   * Throws `ModulePreparationError` saying why it cannot. Runtimes with nothing to prepare keep
   * this default.
   */
  async prepare(_spec: ModuleSpec): Promise<void> {}
  /** Creates (or re-creates) a module without starting it. `env` is the full environment. */
  abstract create(spec: ModuleSpec, env: Readonly<Record<string, string>>): Promise<void>;
  abstract start(module: string): Promise<void>;
  /** Asks the module to stop, forcing it after `timeoutMs`. */
  abstract stop(module: string, timeoutMs?: number): Promise<void>;
  /** Removes a module (stopping it first if needed) and its logs. */
  abstract remove(module: string): Promise<void>;
  /** Captured output, oldest first; with `follow`, continues with new lines. */
  abstract logs(module: string, options?: LogOptions): AsyncIterable<LogLine>;
  /** Subscribes to module events; returns the unsubscribe function. */
  abstract onEvent(listener: (event: ModuleRuntimeEvent) => void): () => void;
}
