import type { ModuleSummary } from '../agent/module-management.js';
import type { JsonObject } from '../../domain/twins/json.js';

/**
 * What the read model answers (JSON on the management API and the dashboard). Times are epoch ms,
 * rates are messages per second over the last 5 s, `history` arrays hold one rate per second for
 * the last minute (oldest first).
 */

/** A module row of `edgeport list` plus how long it has been up. */
export interface ModuleView extends ModuleSummary {
  /** Seconds since it started, while running. */
  uptimeSeconds?: number;
}

export interface DeploymentView {
  /** `lastDesiredStatus.code` (200, 400, 406, 412, 417, 500). */
  code: number;
  /** The status description: every problem of a refused manifest, or the failing commands. */
  description: string;
  /** `lastDesiredVersion`: the deployment version acted on. */
  version?: number;
}

export interface RouteView {
  name: string;
  /** `FROM ... WHERE ... INTO ...`. */
  route: string;
  /** `0`-`9` or `default`. */
  priority: string;
  timeToLiveSecs: number;
  /** Messages this route sent to its endpoint since start, and per second now. */
  total: number;
  perSecond: number;
  history: number[];
}

export interface QueueView {
  /** `$upstream` or `module/input`. */
  endpoint: string;
  /** `0`-`9` or `default`. */
  priority: string;
  /** Undelivered entries. */
  depth: number;
  /** Age of the oldest undelivered entry, when there is one. */
  oldestAgeMs?: number;
  inTotal: number;
  outTotal: number;
  inPerSecond: number;
  outPerSecond: number;
  inHistory: number[];
  outHistory: number[];
  /** The endpoint's last failed delivery. */
  lastError?: { message: string; at: number };
}

export interface ClientView {
  /** `device` or `device/module`. */
  id: string;
  protocol: string;
  since: number;
  /** Telemetry received from it and messages delivered to it (module inputs) since start. */
  messagesIn: number;
  messagesOut: number;
}

export interface UpstreamView {
  kind: string;
  connected: boolean;
  since: number;
  offlineCount: number;
  /** The last failed delivery to the cloud. */
  lastError?: { message: string; at: number };
  /** Messages waiting for the cloud (all priorities). */
  backlog: number;
}

export interface RuntimeView {
  deviceId: string;
  version: string;
  startedAt: number;
  now: number;
  /** The roles this runtime runs. */
  hub: boolean;
  agent: boolean;
  /** Standalone: no upstream, so twins' desired properties are edited here. */
  standalone: boolean;
}

/** `edgeport status`: one screen. */
export interface StatusView {
  runtime: RuntimeView;
  deployment?: DeploymentView;
  modules: ModuleView[];
  queues: QueueView[];
  routes: RouteView[];
  clients: ClientView[];
  upstream?: UpstreamView;
}

export interface TwinView {
  /** `device` or `device/module`. */
  id: string;
  desired: JsonObject;
  reported: JsonObject;
}
