import { describePreparation, ModulePreparationError, type DownloadProgress, type ModulePreparation } from '../../domain/modules/module-preparation.js';
import type { ModuleSpec } from '../../domain/modules/module-spec.js';
import type { CurrentModule } from '../../domain/modules/planner.js';

/** A command's failure as the agent shows it: the short summary for `edgeport list`. */
function summaryOf(error: Error): string {
  if (error instanceof ModulePreparationError) return error.summary;
  return 'cannot create the module';
}

/**
 * What the agent knows about modules it is still preparing, which the runtime cannot list yet:
 * an image being pulled (`downloading`, with progress from the runtime's events), or a `prepare` /
 * `create` that failed (`failed` with the reason and the plan runner's retry time). The reported
 * properties and `edgeport list` show these modules; the planner never sees them.
 */
export class ModuleProvisioning {
  private readonly entries = new Map<string, ModulePreparation>();

  downloading(module: string, image: string | undefined, progress: DownloadProgress | undefined): void {
    const entry: ModulePreparation = { phase: 'downloading' };
    if (image !== undefined) entry.what = image;
    if (progress !== undefined) entry.download = progress;
    this.entries.set(module, entry);
  }

  failed(module: string, error: Error, retryAt: number | undefined): void {
    const entry: ModulePreparation = { phase: 'failed', error: error.message, summary: summaryOf(error) };
    if (retryAt !== undefined) entry.retryAt = retryAt;
    this.entries.set(module, entry);
  }

  /** The module is prepared (or created, or gone): nothing to show beyond what the runtime lists. */
  clear(module: string): void {
    this.entries.delete(module);
  }

  get(module: string): ModulePreparation | undefined {
    return this.entries.get(module);
  }

  /**
   * `current` as the agent shows it: desired modules the runtime does not have yet appear with
   * their preparation (`downloading`, or `failed` with the reason); a module whose update is being
   * downloaded keeps its state, with the download in its description. Entries of modules no
   * longer desired are dropped.
   */
  overlay(desired: readonly ModuleSpec[], current: readonly CurrentModule[]): CurrentModule[] {
    const wanted = new Set(desired.map((m) => m.name));
    for (const name of [...this.entries.keys()]) if (!wanted.has(name)) this.entries.delete(name);
    const byName = new Map(current.map((m) => [m.name, m]));
    const shown: CurrentModule[] = current.map((module) => {
      const entry = this.entries.get(module.name);
      if (entry?.phase !== 'downloading') return module;
      return { ...module, state: { ...module.state, statusDescription: `${module.state.statusDescription}; ${describePreparation(entry)}` } };
    });
    for (const spec of desired) {
      const entry = this.entries.get(spec.name);
      if (entry === undefined || byName.has(spec.name)) continue;
      shown.push({
        name: spec.name,
        spec,
        state: { status: entry.phase, exitCode: 0, statusDescription: describePreparation(entry), preparation: entry },
      });
    }
    return shown.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
