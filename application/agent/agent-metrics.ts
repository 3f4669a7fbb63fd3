import { ModulePreparationError, type DownloadProgress } from '../../domain/modules/module-preparation.js';
import { MODULE_RUNTIME_STATUSES } from '../../domain/modules/module-status.js';
import type { Command } from '../../domain/modules/planner.js';
import type { Counter, Gauge, Metrics } from '../ports/metrics.js';

/**
 * The agent's Prometheus series (Azure's `edgeAgent_*` metrics under the `edgeport_agent_` prefix).
 * Without a Metrics binding every call is a no-op.
 */
export class AgentMetrics {
  private readonly starts?: Counter;
  private readonly stops?: Counter;
  private readonly restarts?: Counter;
  private readonly failures?: Counter;
  private readonly passes?: Counter;
  private readonly status?: Gauge;
  private readonly modules?: Gauge;
  private readonly downloaded?: Gauge;
  private readonly downloadSize?: Gauge;
  private readonly preparationFailures?: Counter;

  constructor(metrics: Metrics | undefined) {
    if (metrics === undefined) return;
    this.starts = metrics.counter('edgeport_agent_module_start_total', 'Module starts issued by the agent (including restarts)');
    this.stops = metrics.counter('edgeport_agent_module_stop_total', 'Module stops issued by the agent (including restarts)');
    this.restarts = metrics.counter('edgeport_agent_module_restart_total', 'Restarts by the restart policy after a cool-off');
    this.failures = metrics.counter('edgeport_agent_command_failures_total', 'Plan commands that failed, by command');
    this.passes = metrics.counter('edgeport_agent_reconcile_total', 'Reconcile passes');
    this.status = metrics.gauge('edgeport_agent_deployment_status_code', 'lastDesiredStatus.code of the $edgeAgent reported properties');
    this.modules = metrics.gauge('edgeport_agent_modules', 'Modules by reported runtime status');
    this.downloaded = metrics.gauge('edgeport_agent_image_download_bytes', 'Bytes of image layers pulled so far for a module being downloaded (0 when done)');
    this.downloadSize = metrics.gauge('edgeport_agent_image_download_size_bytes', 'Bytes of image layers to pull for a module being downloaded, as known so far (0 when done)');
    this.preparationFailures = metrics.counter('edgeport_agent_module_preparation_failures_total', 'Modules that could not be prepared: image pull failed, image refused by the trust policy, program checksum mismatch');
  }

  /** Progress of a module's image pull; `undefined` when it is over. */
  download(module: string, progress: DownloadProgress | undefined): void {
    const labels = { module_name: module };
    this.downloaded?.set(labels, progress?.doneBytes ?? 0);
    this.downloadSize?.set(labels, progress?.totalBytes ?? 0);
  }

  executed(command: Command): void {
    const labels = { module_name: command.module };
    if (command.kind === 'start' || command.kind === 'restart') this.starts?.inc(labels);
    if (command.kind === 'stop' || command.kind === 'restart') this.stops?.inc(labels);
    if (command.kind === 'restart') this.restarts?.inc(labels);
  }

  failed(command: Command, error?: Error): void {
    this.failures?.inc({ command: command.kind });
    if (error instanceof ModulePreparationError) this.preparationFailures?.inc({ module_name: command.module, kind: error.kind });
  }

  reconciled(code: number, runtimeStatuses: readonly string[]): void {
    this.passes?.inc();
    this.status?.set({}, code);
    this.shown(runtimeStatuses);
  }

  /** Modules by the runtime status the agent shows (also between passes, while downloading). */
  shown(runtimeStatuses: readonly string[]): void {
    if (this.modules === undefined) return;
    for (const status of MODULE_RUNTIME_STATUSES) {
      this.modules.set({ runtime_status: status }, runtimeStatuses.filter((s) => s === status).length);
    }
  }
}
