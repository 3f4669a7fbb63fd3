// Why this file is long: one runtime around one module table (spawn, stop with grace then kill,
// logs with follow, orphans reaped after a crash); the small process helpers above the class are
// its plumbing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
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
import type { ModuleSpec, ProcessModuleSettings } from '../../domain/modules/module-spec.js';
import type { ModuleRuntimeState } from '../../domain/modules/module-status.js';
import { ProgramChecksums } from './program-checksum.js';
import { LineSplitter, RotatingLog } from './rotating-log.js';

export interface ProcessRuntimeOptions {
  /** Directory of the per-module log files. */
  logsDir: string;
  /** Size at which a log file is rotated (default 1 MiB). */
  maxLogBytes?: number;
  /** Files kept per module, the current one included (default 3). */
  maxLogFiles?: number;
  /** Grace time between SIGTERM and SIGKILL when `stop` gets none (default 10 s). */
  stopTimeoutMs?: number;
  /**
   * Variables of the agent's own environment that modules inherit (default: PATH, HOME, locale,
   * temp dirs). Like a container, a module does not see the rest of the agent's environment.
   */
  inheritEnv?: readonly string[];
}

const DEFAULT_INHERITED = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'SYSTEMROOT', 'NODE_EXTRA_CA_CERTS'];

interface Follower {
  line(line: LogLine): void;
  end(): void;
}

interface ProcessModule {
  spec: ModuleSpec;
  settings: ProcessModuleSettings;
  env: Readonly<Record<string, string>>;
  state: ModuleRuntimeState;
  log: RotatingLog;
  child?: ChildProcess;
  stopRequested: boolean;
  /** Resolves when the current child has exited. */
  exited?: Promise<void>;
  followers: Set<Follower>;
  /** Writing the log failed once already (reported once, not per line). */
  logFailed?: boolean;
  /** A start in progress (between spawn and the `spawn` event). */
  starting?: Promise<void>;
}

/** Exit code as Docker reports it: the code, or 128 + signal number for a killed process. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + (osConstants.signals[signal] ?? 0);
  return 0;
}

/** What `<logsDir>/<module>.pid` records about a running module process. */
interface PidRecord {
  module: string;
  pid: number;
  command: string;
  args: string[];
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** argv of a process from `/proc` (Linux); `undefined` where that is not available. */
function readCommandLine(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\u0000').filter((part, i, all) => !(part === '' && i === all.length - 1));
  } catch {
    return undefined;
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // best effort: a stale pid file is verified before it is acted on
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
  } catch {
    // gone already
  }
}

/** Module names may hold characters that are awkward in file names; escape all but a safe set. */
export function logFileName(module: string): string {
  return `${module.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)}.log`;
}

/**
 * Runs `type: "process"` modules as child processes (`command args` in `cwd`, environment =
 * inherited basics + module env), for machines without Docker. Output goes to rotating JSON-lines
 * files per module. `stop` sends SIGTERM to the module's process group, then SIGKILL after the
 * timeout. State lives in memory: when the agent stops, it stops its modules (`shutdown`).
 */
export class ProcessModuleRuntime extends ModuleRuntime {
  readonly kind = 'process';
  private readonly modules = new Map<string, ProcessModule>();
  private readonly listeners = new Set<(event: ModuleRuntimeEvent) => void>();
  private readonly maxLogBytes: number;
  private readonly maxLogFiles: number;
  private readonly stopTimeoutMs: number;
  private readonly inherited: Record<string, string>;
  private readonly checksums = new ProgramChecksums();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: ProcessRuntimeOptions,
  ) {
    super();
    this.maxLogBytes = options.maxLogBytes ?? 1024 * 1024;
    this.maxLogFiles = options.maxLogFiles ?? 3;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.inherited = {};
    for (const name of options.inheritEnv ?? DEFAULT_INHERITED) {
      const value = process.env[name];
      if (value !== undefined) this.inherited[name] = value;
    }
  }

  async list(): Promise<CurrentModule[]> {
    return [...this.modules].map(([name, m]) => ({ name, spec: m.spec, state: { ...m.state } }));
  }

  /** `settings.sha256`: the program (and listed files) must have the pinned SHA-256. */
  override async prepare(spec: ModuleSpec): Promise<void> {
    if (spec.settings.kind === 'process') await this.checksums.check(spec.name, spec.settings, this.inherited['PATH']);
  }

  async create(spec: ModuleSpec, env: Readonly<Record<string, string>>): Promise<void> {
    if (spec.settings.kind !== 'process') {
      throw new UnsupportedModuleError(spec.name, `module "${spec.name}" has type "${spec.type}"; the process runtime runs only type "process" modules (containers need a Docker engine and agent.runtime "auto" or "docker")`);
    }
    const existing = this.modules.get(spec.name);
    if (existing?.child !== undefined) throw new Error(`module "${spec.name}" is running; stop it before re-creating it`);
    existing?.log.close();
    this.modules.set(spec.name, {
      spec,
      settings: spec.settings,
      env: { ...env },
      state: { status: 'stopped', exitCode: 0, statusDescription: 'created' },
      log: existing?.log ?? new RotatingLog(join(this.options.logsDir, logFileName(spec.name)), this.maxLogBytes, this.maxLogFiles),
      stopRequested: false,
      followers: existing?.followers ?? new Set(),
    });
  }

  async start(name: string): Promise<void> {
    const module = this.get(name);
    module.spec = { ...module.spec, status: 'running' };
    if (module.child !== undefined) return;
    // Two starts at once (plan runner and an operator's restart) must not spawn two processes.
    if (module.starting !== undefined) return await module.starting;
    module.starting = this.spawnModule(name, module).finally(() => {
      module.starting = undefined;
    });
    await module.starting;
  }

  private async spawnModule(name: string, module: ProcessModule): Promise<void> {
    const { command, args, cwd } = module.settings;
    if (cwd !== undefined) {
      let isDir = false;
      try {
        isDir = statSync(cwd).isDirectory();
      } catch {
        isDir = false;
      }
      if (!isDir) {
        module.state = { ...module.state, statusDescription: `cannot start: cwd ${cwd} is not a directory` };
        throw new Error(`cannot start module "${name}": working directory ${cwd} does not exist or is not a directory`);
      }
    }
    // Checked at every start (restarts too): the file may have changed since the module was created.
    try {
      await this.checksums.check(name, module.settings, module.env['PATH'] ?? this.inherited['PATH']);
    } catch (error) {
      module.state = { ...module.state, status: 'failed', statusDescription: (error as Error).message };
      throw error;
    }
    const child = spawn(command, args, {
      cwd,
      env: { ...this.inherited, ...module.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so stop reaches the module's children too.
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      const message = (error as Error).message;
      module.state = { ...module.state, statusDescription: `cannot start: ${message}` };
      throw new Error(`cannot start module "${name}": ${message}`);
    }
    // Later errors (a failed kill) must not become uncaught exceptions.
    child.on('error', (error) => this.logger.warn(`module ${name}: ${error.message}`, { module: name }));
    module.child = child;
    module.stopRequested = false;
    const startedAt = this.clock.now();
    this.writePidFile(name, child.pid, command, args);
    module.state = { status: 'running', exitCode: module.state.exitCode, statusDescription: 'running', startedAt, id: String(child.pid) };
    const onExit = this.capture(module, child);
    module.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const exitCode = exitCodeOf(code, signal);
        const requested = module.stopRequested;
        module.child = undefined;
        removeQuietly(this.pidFile(name));
        module.state = {
          status: requested || exitCode === 0 ? 'stopped' : 'failed',
          exitCode,
          statusDescription: signal !== null ? `exited (${exitCode}, ${signal})` : `exited (${exitCode})`,
          startedAt,
          exitedAt: this.clock.now(),
          id: String(child.pid),
        };
        this.logger.info(`module ${name} exited with ${exitCode}${requested ? ' (stopped by the agent)' : ''}`, { module: name, exitCode, signal });
        resolve();
        onExit();
        if (!requested) this.emit({ module: name, kind: 'exited', time: this.clock.now(), exitCode });
      });
    });
    this.emit({ module: name, kind: 'started', time: startedAt });
  }

  async stop(name: string, timeoutMs = this.stopTimeoutMs): Promise<void> {
    const module = this.modules.get(name);
    if (module === undefined) return;
    module.spec = { ...module.spec, status: 'stopped' };
    const child = module.child;
    if (child === undefined) return;
    module.stopRequested = true;
    this.signal(child, 'SIGTERM');
    // Real timers: this waits on a real process, whatever clock the agent logic uses.
    if (!(await this.waitExit(module, timeoutMs))) {
      this.logger.warn(`module ${name} did not stop within ${timeoutMs} ms; killing it`, { module: name });
      this.signal(child, 'SIGKILL');
      await this.waitExit(module, 5000);
    }
  }

  async remove(name: string): Promise<void> {
    const module = this.modules.get(name);
    if (module === undefined) return;
    await this.stop(name);
    for (const follower of module.followers) follower.end();
    module.log.delete();
    this.modules.delete(name);
  }

  async *logs(name: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const module = this.get(name);
    const queue: LogLine[] = [];
    let ended = module.child === undefined;
    let wake: (() => void) | undefined;
    const follower: Follower = {
      line: (line) => {
        queue.push(line);
        wake?.();
      },
      end: () => {
        ended = true;
        wake?.();
      },
    };
    const onAbort = (): void => follower.end();
    // Subscribe and read in the same tick: no line can be both missed and read twice.
    if (options.follow === true && !ended) {
      module.followers.add(follower);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    }
    try {
      let existing = module.log.readAll();
      const { since, until } = options;
      if (since !== undefined) existing = existing.filter((l) => l.time >= since);
      if (until !== undefined) existing = existing.filter((l) => l.time < until);
      if (options.tail !== undefined) existing = options.tail <= 0 ? [] : existing.slice(-options.tail);
      for (const line of existing) yield line;
      if (options.follow !== true || options.signal?.aborted === true) return;
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          if (until !== undefined && next.time >= until) return;
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      module.followers.delete(follower);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  onEvent(listener: (event: ModuleRuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops module processes left by an earlier agent that died without stopping them (their
   * process groups outlive it), so they do not run twice. A process is only touched when its pid
   * file names it and, where `/proc` exists, its command line is exactly the module's; PIDs reused
   * by unrelated processes are left alone. Returns the modules whose processes were stopped.
   */
  async reapOrphans(timeoutMs = this.stopTimeoutMs): Promise<string[]> {
    let files: string[];
    try {
      files = readdirSync(this.options.logsDir).filter((f) => f.endsWith('.pid'));
    } catch {
      return [];
    }
    const reaped: string[] = [];
    for (const file of files) {
      const path = join(this.options.logsDir, file);
      let record: PidRecord | undefined;
      try {
        record = JSON.parse(readFileSync(path, 'utf8')) as PidRecord;
      } catch {
        record = undefined;
      }
      removeQuietly(path);
      if (record === undefined || !Number.isInteger(record.pid) || record.pid <= 0 || this.ownsPid(record.pid)) continue;
      if (!processAlive(record.pid)) continue;
      const commandLine = readCommandLine(record.pid);
      if (commandLine === undefined) {
        this.logger.warn(`a process ${record.pid} from an earlier run of module ${record.module} may still run; cannot verify it here, leaving it alone`, { module: record.module });
        continue;
      }
      if (commandLine.join('\u0000') !== [record.command, ...record.args].join('\u0000')) continue;
      this.logger.warn(`stopping process ${record.pid} left by an earlier run of module ${record.module}`, { module: record.module, pid: record.pid });
      signalGroup(record.pid, 'SIGTERM');
      const deadline = Date.now() + timeoutMs;
      while (processAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (processAlive(record.pid)) signalGroup(record.pid, 'SIGKILL');
      reaped.push(record.module);
    }
    return reaped;
  }

  /** Stops every module (agent shutdown) and closes the log files. */
  async shutdown(timeoutMs = this.stopTimeoutMs): Promise<void> {
    await Promise.all([...this.modules.keys()].map((name) => this.stop(name, timeoutMs)));
    for (const module of this.modules.values()) module.log.close();
  }

  private pidFile(name: string): string {
    return join(this.options.logsDir, logFileName(name).replace(/\.log$/, '.pid'));
  }

  private writePidFile(name: string, pid: number | undefined, command: string, args: readonly string[]): void {
    if (pid === undefined) return;
    const record: PidRecord = { module: name, pid, command, args: [...args] };
    try {
      mkdirSync(this.options.logsDir, { recursive: true });
      writeFileSync(this.pidFile(name), JSON.stringify(record));
    } catch (error) {
      this.logger.warn(`cannot write the pid file of module ${name}: ${(error as Error).message}`, { module: name });
    }
  }

  private ownsPid(pid: number): boolean {
    return [...this.modules.values()].some((m) => m.child?.pid === pid);
  }

  private get(name: string): ProcessModule {
    const module = this.modules.get(name);
    if (module === undefined) throw new ModuleNotFoundError(name);
    return module;
  }

  /**
   * Pipes stdout/stderr into the log and to followers. Returns the exit hook: followers end once the
   * process exited and all its output is captured, like `docker logs -f` when a container stops.
   */
  private capture(module: ProcessModule, child: ChildProcess): () => void {
    let open = 0;
    let exited = false;
    const maybeEnd = (): void => {
      if (open === 0 && exited) for (const follower of module.followers) follower.end();
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source === null) continue;
      open += 1;
      source.setEncoding('utf8');
      const splitter = new LineSplitter((text) => {
        const line: LogLine = { time: this.clock.now(), stream, text };
        try {
          module.log.append(line);
        } catch (error) {
          // A full disk or a deleted logs directory must not take the agent down; say it once.
          if (!module.logFailed) this.logger.warn(`cannot write the log of module ${module.spec.name}: ${(error as Error).message}`, { module: module.spec.name });
          module.logFailed = true;
        }
        for (const follower of module.followers) follower.line(line);
      });
      source.on('data', (chunk: string) => splitter.push(chunk));
      source.on('error', (error) => this.logger.warn(`reading ${stream} of module ${module.spec.name} failed: ${error.message}`, { module: module.spec.name }));
      source.once('close', () => {
        splitter.flush();
        open -= 1;
        maybeEnd();
      });
    }
    return () => {
      exited = true;
      maybeEnd();
    };
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      if (process.platform !== 'win32' && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  private async waitExit(module: ProcessModule, timeoutMs: number): Promise<boolean> {
    const exited = module.exited;
    if (exited === undefined || module.child === undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
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
