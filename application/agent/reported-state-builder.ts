import type { DeploymentConfig } from '../../domain/deployment/agent-desired.js';
import { writeCreateOptions } from '../../domain/deployment/create-options.js';
import type { DeploymentStatus } from '../../domain/deployment/deployment-status.js';
import { reportedDiff } from '../../domain/deployment/reported-diff.js';
import type { ModuleSpec } from '../../domain/modules/module-spec.js';
import type { ModuleState } from '../../domain/modules/module-status.js';
import type { CurrentModule } from '../../domain/modules/planner.js';
import { shownStatus, type RestartPolicySettings } from '../../domain/modules/restart-policy.js';
import type { AgentSettings } from './agent-settings.js';

/** Azure's "unset" date-time (`DateTime.MinValue`). */
export const UNSET_TIME = '0001-01-01T00:00:00';

/** Newtonsoft-style UTC date-time without zone: `2026-01-01T00:00:05.123`. */
export function reportedTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return UNSET_TIME;
  return new Date(ms).toISOString().replace(/Z$/, '');
}

export type ReportedDocument = Record<string, unknown>;

export interface ReportInput {
  /** `lastDesiredVersion`: the desired version acted on (kept when undefined). */
  desiredVersion: number | undefined;
  status: DeploymentStatus;
  /** The deployment in force (the last good one). */
  config: DeploymentConfig | undefined;
  current: readonly CurrentModule[];
  states: ReadonlyMap<string, ModuleState>;
  /** When this agent started, for the `edgeAgent` entry. */
  agentStartedAt: number;
  runtimeKind: string;
}

function reportedEnv(env: Record<string, string>): Record<string, { value: string }> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, { value: v }]));
}

function reportedSettings(spec: ModuleSpec): Record<string, unknown> {
  const settings = spec.settings;
  if (settings.kind === 'process') {
    const out: Record<string, unknown> = { command: settings.command, args: settings.args };
    if (settings.cwd !== undefined) out['cwd'] = settings.cwd;
    if (settings.sha256 !== undefined) out['sha256'] = settings.sha256;
    return out;
  }
  const out: Record<string, unknown> = { image: settings.image, ...writeCreateOptions(settings.createOptions) };
  if (settings.digest !== undefined) out['digest'] = settings.digest;
  return out;
}

/** The desired part of a module entry (what the deployment said). */
function specFields(spec: ModuleSpec): Record<string, unknown> {
  return {
    version: spec.version,
    type: spec.type,
    status: spec.status,
    restartPolicy: spec.restartPolicy,
    imagePullPolicy: spec.imagePullPolicy,
    startupOrder: spec.startupOrder,
    env: reportedEnv(spec.env),
    settings: reportedSettings(spec),
  };
}

/**
 * Computes the `$edgeAgent` reported properties (Azure `IoTHubReporter`): per module the desired
 * fields plus `runtimeStatus` (after the restart policy; `downloading` or `failed` as they are for
 * a module still being prepared), `exitCode`, `statusDescription`, start,
 * exit and restart times and `restartCount`; `lastDesiredVersion` and `lastDesiredStatus`. It
 * remembers the last document sent, so `patch` returns only what changed.
 */
export class ReportedStateBuilder {
  private last: ReportedDocument = {};
  private lastDesiredVersion: number | undefined;

  constructor(private readonly settings: AgentSettings) {}

  /** The last document handed out as a patch (what the cloud should now hold). */
  get reported(): ReportedDocument {
    return this.last;
  }

  build(input: ReportInput): ReportedDocument {
    if (input.desiredVersion !== undefined && input.desiredVersion > 0) this.lastDesiredVersion = input.desiredVersion;
    const policy: RestartPolicySettings = this.settings.restartPolicy;
    const modules: Record<string, unknown> = {};
    const desired = new Map((input.config?.modules ?? []).map((m) => [m.name, m]));
    for (const module of [...input.current].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const state = module.state;
      const restart = input.states.get(module.name);
      // `status` is the desired one: the deployment may have changed it before the runtime caught up.
      const status = desired.get(module.name)?.status ?? module.spec.status;
      modules[module.name] = {
        ...specFields(module.spec),
        status,
        exitCode: state.exitCode,
        statusDescription: state.statusDescription,
        lastStartTimeUtc: reportedTime(state.startedAt),
        lastExitTimeUtc: reportedTime(state.exitedAt),
        restartCount: restart?.restartCount ?? 0,
        lastRestartTimeUtc: reportedTime(restart?.lastRestartTime),
        runtimeStatus: shownStatus(status, state, module.spec.restartPolicy, restart?.restartCount ?? 0, policy),
      };
    }

    const config = input.config;
    const agentSpec = config?.systemModules.edgeAgent;
    const edgeAgent: Record<string, unknown> = {
      type: agentSpec?.type ?? input.runtimeKind,
      imagePullPolicy: agentSpec?.imagePullPolicy ?? 'on-create',
      startupOrder: 0,
      env: reportedEnv(agentSpec?.env ?? {}),
      settings: agentSpec === undefined ? {} : reportedSettings(agentSpec),
      exitCode: 0,
      statusDescription: 'running',
      lastStartTimeUtc: reportedTime(input.agentStartedAt),
      lastExitTimeUtc: UNSET_TIME,
      runtimeStatus: 'running',
    };
    const systemModules: Record<string, unknown> = { edgeAgent };
    const hubSpec = config?.systemModules.edgeHub;
    if (hubSpec !== undefined) {
      const { version: _version, ...hubFields } = specFields(hubSpec);
      const hubRunning = this.settings.embeddedHub && hubSpec.status === 'running';
      systemModules['edgeHub'] = {
        ...hubFields,
        exitCode: 0,
        statusDescription: hubRunning ? 'running' : this.settings.embeddedHub ? 'stopped' : 'not managed by this agent',
        lastStartTimeUtc: reportedTime(hubRunning ? input.agentStartedAt : undefined),
        lastExitTimeUtc: UNSET_TIME,
        restartCount: 0,
        lastRestartTimeUtc: UNSET_TIME,
        runtimeStatus: hubRunning ? 'running' : this.settings.embeddedHub ? 'stopped' : 'unknown',
      };
    }

    const runtimeSettings = config?.runtime?.settings;
    const runtime: Record<string, unknown> = {
      type: config?.runtime?.type ?? input.runtimeKind,
      platform: { ...this.settings.platform },
    };
    if (runtimeSettings !== undefined) {
      runtime['settings'] = {
        minDockerVersion: runtimeSettings.minDockerVersion,
        loggingOptions: runtimeSettings.loggingOptions,
        // Passwords are never reported (Azure echoes them; Edgeport does not).
        registryCredentials: Object.fromEntries(
          Object.entries(runtimeSettings.registryCredentials).map(([name, c]) => [name, { address: c.address, username: c.username }]),
        ),
      };
    }

    const document: ReportedDocument = {
      schemaVersion: '1.0',
      version: { ...this.settings.agentVersion },
      lastDesiredStatus: { code: input.status.code, description: input.status.description },
      runtime,
      systemModules,
      modules,
    };
    if (this.lastDesiredVersion !== undefined) document['lastDesiredVersion'] = this.lastDesiredVersion;
    return document;
  }

  /** The patch from the last reported document to `next`; records `next` as reported. */
  patch(next: ReportedDocument): Record<string, unknown> {
    const diff = reportedDiff(this.last, next);
    this.last = next;
    return diff;
  }

  /** Azure's shutdown report: every module `unknown`, status 406 "Agent is not running". */
  shutdownPatch(): Record<string, unknown> {
    const next: ReportedDocument = structuredClone(this.last);
    for (const group of ['modules', 'systemModules'] as const) {
      const entries = next[group];
      if (entries === null || typeof entries !== 'object') continue;
      for (const entry of Object.values(entries as Record<string, Record<string, unknown>>)) entry['runtimeStatus'] = 'unknown';
    }
    next['lastDesiredStatus'] = { code: 406, description: 'Agent is not running' };
    return this.patch(next);
  }
}
