import { inject, injectable } from 'inversify';
import { parseLogTime } from '../../domain/modules/log-time.js';
import type { DownloadProgress } from '../../domain/modules/module-preparation.js';
import { MODULE_RUNTIME_STATUSES, type ModuleRuntimeStatus } from '../../domain/modules/module-status.js';
import { restartDueAt, shownStatus } from '../../domain/modules/restart-policy.js';
import { describeModuleConfig, describeModuleStatus } from '../../domain/modules/status-description.js';
import { Clock } from '../ports/clock.js';
import { ModuleRuntime, type LogLine, type LogOptions } from '../ports/module-runtime.js';
import { ModuleStateStore } from '../ports/module-state-store.js';
import { AgentMethods } from './agent-methods.js';
import { AgentSettings } from './agent-settings.js';
import { ReconcileDeployment, type DeploymentProgress } from './reconcile-deployment.js';

/** One row of `edgeport list` / `GET /modules`. Times are epoch ms. */
export interface ModuleSummary {
  name: string;
  /** `process`, `docker`; system modules: the agent's runtime kind. */
  type: string;
  /** What the deployment asks for: `running` or `stopped`. */
  desiredStatus: string;
  /** Runtime status after the restart policy (`backoff`, `failed` after too many restarts). */
  status: ModuleRuntimeStatus;
  /** `Up 3 minutes`, `Failed (139) 10 seconds ago`, `Backoff, restart in 40 s` (at `now`). */
  description: string;
  exitCode: number;
  /** Image (docker) or command line (process). */
  config: string;
  version: string;
  restartCount: number;
  startedAt?: number;
  exitedAt?: number;
  lastRestartAt?: number;
  /** When a module in back-off will be restarted. */
  restartAt?: number;
  /** The runtime's (or the agent's) text, as reported in `statusDescription`. */
  statusDescription: string;
  /** A `downloading` module's image pull (also an update's, while the old module runs). */
  download?: DownloadProgress;
  /** A module that could not be prepared or created: why, in a few words... */
  failure?: string;
  /** ... and when the agent tries again. */
  retryAt?: number;
  /** `edgeAgent`, `edgeHub`. */
  system: boolean;
}

export class ManagementError extends Error {
  constructor(
    readonly status: 400 | 404 | 500,
    message: string,
  ) {
    super(message);
    this.name = 'ManagementError';
  }
}

export interface ModuleLogQuery {
  /** Number of lines, or `all` (default). */
  tail?: string | number;
  /** Unix seconds, RFC 3339 or a duration back from now (`10m`, `1 day`). */
  since?: string;
  until?: string;
  follow?: boolean;
  signal?: AbortSignal;
}

/** Reported `0001-01-01T00:00:00` / `2026-01-01T00:00:05.123` (UTC without zone) to epoch ms. */
function reportedMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.startsWith('0001-')) return undefined;
  const ms = Date.parse(`${value}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

const RUNTIME_STATUSES = new Set<string>(MODULE_RUNTIME_STATUSES);

/**
 * What the management API offers (`iotedge list|logs|restart`): module rows from the runtime and the
 * agent's restart history, logs with `iotedge logs` options, and restarts through the agent's
 * `RestartModule` method.
 */
@injectable()
export class ModuleManagement {
  /**
   * Restarts asked for by an operator since start, per module. Shown in `restartCount` with the
   * policy's restarts, but kept apart: they must not lengthen the restart policy's back-off.
   */
  private readonly operatorRestarts = new Map<string, { count: number; at: number }>();

  constructor(
    @inject(ModuleRuntime) private readonly runtime: ModuleRuntime,
    @inject(ModuleStateStore) private readonly states: ModuleStateStore,
    @inject(ReconcileDeployment) private readonly agent: ReconcileDeployment,
    @inject(AgentMethods) private readonly methods: AgentMethods,
    @inject(AgentSettings) private readonly settings: AgentSettings,
    @inject(Clock) private readonly clock: Clock,
  ) {}

  async list(): Promise<ModuleSummary[]> {
    const now = this.clock.now();
    const [current, states] = await Promise.all([this.runtime.list(), this.states.getAll()]);
    const reported = this.agent.reported;
    const reportedModules = (reported['modules'] ?? {}) as Record<string, { status?: unknown }>;
    const rows: ModuleSummary[] = this.systemRows(reported, now);
    for (const module of this.agent.shown(current)) {
      const history = states.get(module.name);
      const restartCount = history?.restartCount ?? 0;
      const operator = this.operatorRestarts.get(module.name);
      const reportedStatus = reportedModules[module.name]?.status;
      const desired = reportedStatus === 'running' || reportedStatus === 'stopped' ? reportedStatus : module.spec.status;
      const status = shownStatus(desired, module.state, module.spec.restartPolicy, restartCount, this.settings.restartPolicy);
      const row: ModuleSummary = {
        name: module.name,
        type: module.spec.type,
        desiredStatus: desired,
        status,
        description: '',
        statusDescription: module.state.statusDescription,
        exitCode: module.state.exitCode,
        config: describeModuleConfig(module.spec),
        version: module.spec.version,
        // Policy restarts (what the back-off counts) plus the operator's (`restart`, the dashboard).
        restartCount: restartCount + (operator?.count ?? 0),
        system: false,
      };
      if (module.state.startedAt !== undefined) row.startedAt = module.state.startedAt;
      if (module.state.exitedAt !== undefined) row.exitedAt = module.state.exitedAt;
      const lastRestartAt = Math.max(history?.lastRestartTime ?? 0, operator?.at ?? 0);
      if (lastRestartAt > 0) row.lastRestartAt = lastRestartAt;
      if (status === 'backoff') row.restartAt = restartDueAt(module.state, restartCount, this.settings.restartPolicy);
      const preparation = module.state.preparation ?? this.agent.preparationOf(module.name);
      if (preparation?.download !== undefined) row.download = preparation.download;
      if (module.state.preparation?.phase === 'failed') {
        row.failure = preparation?.summary ?? 'cannot create the module';
        if (preparation?.retryAt !== undefined) row.retryAt = preparation.retryAt;
      }
      row.description = describeModuleStatus(row, now);
      rows.push(row);
    }
    return rows;
  }

  /** `lastDesiredVersion` and `lastDesiredStatus` of the agent (`edgeport deploy --wait`). */
  deployment(): DeploymentProgress {
    return this.agent.deployment;
  }

  /** `edgeAgent` (this process) and `edgeHub` (when the deployment has it) from the reported properties. */
  private systemRows(reported: Record<string, unknown>, now: number): ModuleSummary[] {
    const system = (reported['systemModules'] ?? {}) as Record<string, Record<string, unknown>>;
    const rows: ModuleSummary[] = [];
    for (const name of ['edgeAgent', 'edgeHub']) {
      const entry = system[name];
      if (entry === undefined) continue;
      const status = typeof entry['runtimeStatus'] === 'string' && RUNTIME_STATUSES.has(entry['runtimeStatus']) ? (entry['runtimeStatus'] as ModuleRuntimeStatus) : 'unknown';
      const settings = (entry['settings'] ?? {}) as Record<string, unknown>;
      const row: ModuleSummary = {
        name,
        type: typeof entry['type'] === 'string' ? entry['type'] : this.runtime.kind,
        desiredStatus: 'running',
        status,
        description: '',
        statusDescription: typeof entry['statusDescription'] === 'string' ? entry['statusDescription'] : '',
        exitCode: typeof entry['exitCode'] === 'number' ? entry['exitCode'] : 0,
        config: typeof settings['image'] === 'string' ? settings['image'] : `edgeport (embedded)`,
        version: '',
        restartCount: 0,
        system: true,
      };
      const startedAt = reportedMs(entry['lastStartTimeUtc']);
      if (startedAt !== undefined) row.startedAt = startedAt;
      row.description = describeModuleStatus(row, now);
      rows.push(row);
    }
    return rows;
  }

  /** Log lines of one module (`404` unknown module, `400` bad options). */
  async logs(module: string, query: ModuleLogQuery): Promise<AsyncIterable<LogLine>> {
    const options: LogOptions = {};
    const now = this.clock.now();
    if (query.tail !== undefined && query.tail !== 'all' && query.tail !== '') {
      const tail = Number(query.tail);
      if (!Number.isInteger(tail) || tail < 0) throw new ManagementError(400, `tail must be a non-negative integer or "all" (got ${JSON.stringify(query.tail)})`);
      options.tail = tail;
    }
    for (const key of ['since', 'until'] as const) {
      const raw = query[key];
      if (raw === undefined || raw === '') continue;
      const time = parseLogTime(raw, now);
      if (time === undefined) throw new ManagementError(400, `${key} must be Unix seconds, an RFC 3339 time or a duration such as "10m" or "1 day" (got ${JSON.stringify(raw)})`);
      options[key] = time;
    }
    if (query.follow === true) options.follow = true;
    if (query.signal !== undefined) options.signal = query.signal;
    const modules = await this.runtime.list();
    if (!modules.some((m) => m.name === module)) throw new ManagementError(404, `module ${module} does not exist`);
    return this.runtime.logs(module, options);
  }

  /**
   * Stops (or starts again) a deployed module: its desired status becomes `stopped` (`running`)
   * until the next deployment, so the restart policy leaves a stopped module alone. 404 for a
   * module the deployment does not have; system modules cannot be stopped.
   */
  async setRunning(module: string, running: boolean): Promise<void> {
    if (module === 'edgeAgent' || module === 'edgeHub') throw new ManagementError(400, `${module} is a system module: it runs as long as the runtime does`);
    if (!(await this.agent.setOperatorStatus(module, running ? 'running' : 'stopped'))) throw new ManagementError(404, `module ${module} is not in the deployment`);
  }

  /**
   * Stop + start through the agent's `RestartModule`: counted in the row's `restartCount`, not as a
   * policy restart (the back-off does not grow).
   */
  async restart(module: string): Promise<void> {
    const answer = await this.methods.invoke('RestartModule', { schemaVersion: '1.0', id: module });
    if (answer.status === 200) {
      const count = (this.operatorRestarts.get(module)?.count ?? 0) + 1;
      this.operatorRestarts.set(module, { count, at: this.clock.now() });
      return;
    }
    const message = (answer.payload as { message?: string } | null)?.message ?? `restart failed (${answer.status})`;
    throw new ManagementError(answer.status === 404 ? 404 : answer.status === 400 ? 400 : 500, message);
  }
}
