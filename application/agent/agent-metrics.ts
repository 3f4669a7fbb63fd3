import { ModulePreparationError, type DownloadProgress } from '../../domain/modules/module-preparation.js';
import { MODULE_RUNTIME_STATUSES } from '../../domain/modules/module-status.js';
import type { Command } from '../../domain/modules/planner.js';
import type { Counter, Gauge, Metrics } from '../ports/metrics.js';

/** A module as one reconcile pass reported it (`modules` and `systemModules` of the reported properties). */
export interface ReportedModuleStatus {
  runtimeStatus: string;
  version?: unknown;
}

/**
 * The agent's Prometheus series: `edgeport_agent_*` (Azure's `edgeAgent_*` metrics under the
 * `edgeport_agent_` prefix) and, alongside, Azure's own names and labels (`edgeAgent_module_start_total`,
 * `edgeAgent_total_time_running_correctly_seconds`, ...). Without a Metrics binding every call is a no-op.
 */
export class AgentMetrics {
  private readonly starts?: Counter;
  private readonly stops?: Counter;
  private readonly restarts?: Counter;
  private readonly failures?: Counter;
  private readonly passes?: Counter;
  private readonly status?: Gauge;
  private readonly modules?: Gauge;
  private readonly azureStarts?: Counter;
  private readonly azureStops?: Counter;
  private readonly runningCorrectly?: Gauge;
  private readonly expectedRunning?: Gauge;
  /** Module versions of the last pass, for the `module_version` label. */
  private versions = new Map<string, string>();
  /** Statuses of the last pass and when it ran: the time until the next pass is counted by them. */
  private lastPass: { at: number; statuses: ReadonlyMap<string, string> } | undefined;
  private readonly availability = new Map<string, { expected: number; running: number }>();
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
    this.azureStarts = metrics.counter('edgeAgent_module_start_total', 'Number of times edgeAgent asked the runtime to start the module');
    this.azureStops = metrics.counter('edgeAgent_module_stop_total', 'Number of times edgeAgent asked the runtime to stop the module');
    this.runningCorrectly = metrics.gauge('edgeAgent_total_time_running_correctly_seconds', 'The amount of time the module was specified in the deployment and was in the running state');
    this.expectedRunning = metrics.gauge('edgeAgent_total_time_expected_running_seconds', 'The amount of time the module was specified in the deployment');
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
    // A module's first start follows its create in the same plan, before any pass reported it.
    if (command.kind === 'create') this.versions.set(command.module, command.spec.version);
    const labels = { module_name: command.module };
    const azure = { module_name: command.module, module_version: this.versions.get(command.module) ?? '' };
    if (command.kind === 'start' || command.kind === 'restart') {
      this.starts?.inc(labels);
      this.azureStarts?.inc(azure);
    }
    if (command.kind === 'stop' || command.kind === 'restart') {
      this.stops?.inc(labels);
      this.azureStops?.inc(azure);
    }
    if (command.kind === 'restart') this.restarts?.inc(labels);
  }

  failed(command: Command, error?: Error): void {
    this.failures?.inc({ command: command.kind });
    if (error instanceof ModulePreparationError) this.preparationFailures?.inc({ module_name: command.module, kind: error.kind });
  }

  /**
   * One reconcile pass at `now` reported `modules` (and the system modules `edgeAgent`,
   * `edgeHub`, which count for the availability but not for `edgeport_agent_modules`). The time since the previous pass counts as
   * expected for every module of that pass, and as running correctly for those that were running
   * (Azure's edgeAgent computes its availability the same way, pass by pass).
   */
  reconciled(code: number, modules: Readonly<Record<string, ReportedModuleStatus>>, systemModules: Readonly<Record<string, ReportedModuleStatus>>, now: number): void {
    this.passes?.inc();
    this.status?.set({}, code);
    this.shown(Object.values(modules).map((m) => m.runtimeStatus));
    const all = Object.entries({ ...systemModules, ...modules });
    const statuses = new Map(all.map(([name, m]) => [name, m.runtimeStatus] as const));
    this.versions = new Map(all.map(([name, m]) => [name, typeof m.version === 'string' ? m.version : ''] as const));
    const last = this.lastPass;
    if (last !== undefined && now > last.at) {
      const seconds = (now - last.at) / 1000;
      for (const [name, status] of last.statuses) {
        const totals = this.availability.get(name) ?? { expected: 0, running: 0 };
        totals.expected += seconds;
        if (status === 'running') totals.running += seconds;
        this.availability.set(name, totals);
        this.expectedRunning?.set({ module_name: name }, Math.round(totals.expected));
        this.runningCorrectly?.set({ module_name: name }, Math.round(totals.running));
      }
    }
    this.lastPass = { at: now, statuses };
  }

  /** Modules by the runtime status the agent shows (also between passes, while downloading). */
  shown(runtimeStatuses: readonly string[]): void {
    if (this.modules === undefined) return;
    for (const status of MODULE_RUNTIME_STATUSES) {
      this.modules.set({ runtime_status: status }, runtimeStatuses.filter((s) => s === status).length);
    }
  }
}
