import type { ModuleSpec } from '../../domain/modules/module-spec.js';
import { ModuleNotFoundError, ModuleRuntime, UnsupportedModuleError } from '../ports/module-runtime.js';
import type { CurrentModule, LogLine, LogOptions, ModuleRuntimeEvent } from '../ports/module-runtime.js';

/**
 * Several module runtimes as one, by module `type` (`agent.runtime = "auto"` with a Docker engine:
 * `type: "docker"` modules as containers, `type: "process"` modules as processes, in one
 * deployment). A module lives in exactly one runtime: `prepare` goes to the runtime of its type,
 * `create` removes a module of the same name from the others first (its type changed), `stop` and `remove` go to every runtime (both are
 * idempotent), `start` and `logs` to the runtime that has the module.
 */
export class CompositeModuleRuntime extends ModuleRuntime {
  readonly kind: string;
  private readonly runtimes: ReadonlyArray<readonly [string, ModuleRuntime]>;

  /** `runtimes`: module type -> runtime, e.g. `{docker, process}`; `list` reports them in this order. */
  constructor(runtimes: Readonly<Record<string, ModuleRuntime>>) {
    super();
    this.runtimes = Object.entries(runtimes);
    this.kind = this.runtimes.map(([type]) => type).join('+');
  }

  async list(): Promise<CurrentModule[]> {
    const lists = await Promise.all(this.runtimes.map(([, runtime]) => runtime.list()));
    const seen = new Set<string>();
    const modules: CurrentModule[] = [];
    // A name in two runtimes (an agent stopped between removing and creating on a type change)
    // is reported once, from the first runtime; the plan re-creates it and `create` cleans up.
    for (const module of lists.flat()) {
      if (seen.has(module.name)) continue;
      seen.add(module.name);
      modules.push(module);
    }
    return modules.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  override async prepare(spec: ModuleSpec): Promise<void> {
    await this.runtimeOf(spec).prepare(spec);
  }

  async create(spec: ModuleSpec, env: Readonly<Record<string, string>>): Promise<void> {
    const target = this.runtimeOf(spec);
    for (const [, runtime] of this.runtimes) if (runtime !== target) await runtime.remove(spec.name);
    await target.create(spec, env);
  }

  /** The runtime of the spec's `type`. */
  private runtimeOf(spec: ModuleSpec): ModuleRuntime {
    const target = this.runtimes.find(([type]) => type === spec.type)?.[1];
    if (target === undefined) {
      throw new UnsupportedModuleError(spec.name, `module "${spec.name}" has type "${spec.type}"; this agent runs types ${this.runtimes.map(([type]) => `"${type}"`).join(' and ')}`);
    }
    return target;
  }

  async start(module: string): Promise<void> {
    await (await this.owner(module)).start(module);
  }

  async stop(module: string, timeoutMs?: number): Promise<void> {
    for (const [, runtime] of this.runtimes) await runtime.stop(module, timeoutMs);
  }

  async remove(module: string): Promise<void> {
    for (const [, runtime] of this.runtimes) await runtime.remove(module);
  }

  async *logs(module: string, options?: LogOptions): AsyncIterable<LogLine> {
    yield* (await this.owner(module)).logs(module, options);
  }

  onEvent(listener: (event: ModuleRuntimeEvent) => void): () => void {
    const offs = this.runtimes.map(([, runtime]) => runtime.onEvent(listener));
    return () => {
      for (const off of offs) off();
    };
  }

  /** The runtime that has `module`, in `list` order. */
  private async owner(module: string): Promise<ModuleRuntime> {
    for (const [, runtime] of this.runtimes) {
      if ((await runtime.list()).some((m) => m.name === module)) return runtime;
    }
    throw new ModuleNotFoundError(module);
  }
}
