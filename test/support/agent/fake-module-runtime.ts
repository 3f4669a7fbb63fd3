import type { Clock } from '../../../application/ports/clock.js';
import { ModuleNotFoundError, ModuleRuntime, type CurrentModule, type LogLine, type LogOptions, type ModuleRuntimeEvent } from '../../../application/ports/module-runtime.js';
import type { ModuleSpec } from '../../../domain/modules/module-spec.js';
import type { ModuleRuntimeState } from '../../../domain/modules/module-status.js';

interface FakeModule {
  spec: ModuleSpec;
  env: Readonly<Record<string, string>>;
  state: ModuleRuntimeState;
}

/**
 * An in-memory module runtime: operations change state at the fake clock's time; tests make
 * modules crash or turn unhealthy, and make operations fail.
 */
export class FakeModuleRuntime extends ModuleRuntime {
  readonly kind = 'process';
  readonly modules = new Map<string, FakeModule>();
  /** Every operation, e.g. `create a`, `start a`. */
  readonly calls: string[] = [];
  private readonly failures = new Map<string, Error>();
  private readonly listeners = new Set<(event: ModuleRuntimeEvent) => void>();

  constructor(private readonly clock: Clock) {
    super();
  }

  /** Makes `op module` (e.g. `start a`) throw until `heal` is called. */
  fail(op: string, error = new Error(`${op} failed`)): void {
    this.failures.set(op, error);
  }

  heal(op: string): void {
    this.failures.delete(op);
  }

  /** The module exits on its own with `code`. */
  crash(name: string, code: number): void {
    const module = this.get(name);
    module.state = { ...module.state, status: code === 0 ? 'stopped' : 'failed', exitCode: code, statusDescription: `exited (${code})`, exitedAt: this.clock.now() };
    this.emit({ module: name, kind: 'exited', time: this.clock.now(), exitCode: code });
  }

  unhealthy(name: string): void {
    const module = this.get(name);
    module.state = { ...module.state, status: 'unhealthy', statusDescription: 'unhealthy', unhealthySince: this.clock.now() };
    this.emit({ module: name, kind: 'unhealthy', time: this.clock.now() });
  }

  statusOf(name: string): string | undefined {
    return this.modules.get(name)?.state.status;
  }

  envOf(name: string): Readonly<Record<string, string>> | undefined {
    return this.modules.get(name)?.env;
  }

  private get(name: string): FakeModule {
    const module = this.modules.get(name);
    if (module === undefined) throw new ModuleNotFoundError(name);
    return module;
  }

  private op(text: string): void {
    this.calls.push(text);
    const failure = this.failures.get(text);
    if (failure !== undefined) throw failure;
  }

  protected emit(event: ModuleRuntimeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  async list(): Promise<CurrentModule[]> {
    return [...this.modules].map(([name, m]) => ({ name, spec: m.spec, state: { ...m.state } }));
  }

  async create(spec: ModuleSpec, env: Readonly<Record<string, string>>): Promise<void> {
    this.op(`create ${spec.name}`);
    this.modules.set(spec.name, { spec, env, state: { status: 'stopped', exitCode: 0, statusDescription: 'created' } });
  }

  async start(name: string): Promise<void> {
    this.op(`start ${name}`);
    const module = this.get(name);
    module.spec = { ...module.spec, status: 'running' };
    if (module.state.status === 'running' || module.state.status === 'unhealthy') return;
    const { exitedAt: _exitedAt, unhealthySince: _u, ...rest } = module.state;
    module.state = { ...rest, status: 'running', statusDescription: 'running', startedAt: this.clock.now() };
  }

  async stop(name: string): Promise<void> {
    this.op(`stop ${name}`);
    const module = this.modules.get(name);
    if (module !== undefined) module.spec = { ...module.spec, status: 'stopped' };
    if (module === undefined || (module.state.status !== 'running' && module.state.status !== 'unhealthy')) return;
    module.state = { ...module.state, status: 'stopped', statusDescription: 'stopped', exitCode: 0, exitedAt: this.clock.now() };
  }

  async remove(name: string): Promise<void> {
    this.op(`remove ${name}`);
    this.modules.delete(name);
  }

  /** Output per module, for `logs`; tests push lines here. */
  readonly output = new Map<string, LogLine[]>();

  async *logs(name: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    this.get(name);
    let lines = this.output.get(name) ?? [];
    const { since, until, tail } = options;
    if (since !== undefined) lines = lines.filter((l) => l.time >= since);
    if (until !== undefined) lines = lines.filter((l) => l.time < until);
    if (tail !== undefined) lines = tail <= 0 ? [] : lines.slice(-tail);
    yield* lines;
  }

  onEvent(listener: (event: ModuleRuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
