import { readFileSync } from 'node:fs';
import type { EdgeportConfig } from '../config/load-config.js';
import { call, readBody } from '../cli/management-client.js';
import { runtimeSockets } from '../runtime-sockets.js';
import { probeDockerEngine, type DockerEngine } from './docker-engine.js';
import { inspectStore, type StoreInspection } from './store-inspection.js';

/** A `GET /modules` row of the management API (the fields the checks read). */
export interface RuntimeModule {
  name: string;
  type?: string;
  desiredStatus?: string;
  status: string;
  description?: string;
  exitCode: number;
  restartCount?: number;
  restartAt?: number;
}

/** The running runtime as its management socket shows it. */
export type RuntimeView =
  | { running: true; modules?: RuntimeModule[]; agentNote?: string }
  | { running: false; reason: string };

/** The deployment the agent enforces: its Docker modules and where it comes from. */
export interface DeploymentView {
  /** `agent.manifest` (standalone) or the stored `$edgeAgent` twin (connected). */
  source: string;
  /** The `$edgeAgent` desired properties, when there are any. */
  desired?: unknown;
  /** Raw manifest text (standalone), for validation. */
  manifestText?: string;
  /** Why nothing could be read (missing file, unreadable store). */
  problem?: string;
}

function memo<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}

/**
 * What the checks share, each read once and only when a check asks: the runtime's management
 * socket, the Docker engine, the store (read-only) and the deployment.
 */
export class CheckContext {
  readonly runtime: () => Promise<RuntimeView>;
  readonly docker: () => Promise<DockerEngine | Error>;
  readonly store: () => Promise<StoreInspection | undefined | Error>;
  readonly deployment: () => Promise<DeploymentView>;

  constructor(
    readonly config: EdgeportConfig,
    readonly now: () => number = Date.now,
  ) {
    this.runtime = memo(() => readRuntime(config));
    this.docker = memo(() => probeDockerEngine(config.agent.dockerSocket).catch((error: unknown) => asError(error)));
    this.store = memo(() => inspectStore(config).catch((error: unknown) => asError(error)));
    this.deployment = memo(() => readDeployment(config, this.store));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

async function readRuntime(config: EdgeportConfig): Promise<RuntimeView> {
  const socket = runtimeSockets(config.dataDir).management;
  let response;
  try {
    response = await call(socket, 'GET', '/modules');
  } catch (error) {
    return { running: false, reason: (error as Error).message };
  }
  const text = await readBody(response);
  if (response.statusCode === 503) return { running: true, agentNote: 'the agent does not run in this runtime' };
  if (response.statusCode !== 200) return { running: true, agentNote: `GET /modules answered ${response.statusCode ?? '?'}` };
  try {
    return { running: true, modules: (JSON.parse(text) as { modules: RuntimeModule[] }).modules };
  } catch {
    return { running: true, agentNote: 'GET /modules answered something that is not JSON' };
  }
}

async function readDeployment(config: EdgeportConfig, store: () => Promise<StoreInspection | undefined | Error>): Promise<DeploymentView> {
  if (config.upstream.kind === 'iothub' || config.upstream.kind === 'parent') {
    const inspection = await store();
    const source = `the $edgeAgent twin from IoT Hub (stored)`;
    if (inspection instanceof Error) return { source, problem: `cannot read the store: ${inspection.message}` };
    const desired = inspection?.edgeAgentTwin?.desired;
    return desired === undefined ? { source } : { source, desired };
  }
  const path = config.agent.manifest;
  if (path === '') return { source: 'agent.manifest (not set)' };
  try {
    const manifestText = readFileSync(path, 'utf8');
    let desired: unknown;
    try {
      const parsed = JSON.parse(manifestText) as { modulesContent?: Record<string, { 'properties.desired'?: unknown }> };
      desired = parsed.modulesContent?.['$edgeAgent']?.['properties.desired'];
    } catch {
      desired = undefined; // reported by the deployment check's validation
    }
    return { source: path, manifestText, ...(desired !== undefined ? { desired } : {}) };
  } catch (error) {
    return { source: path, problem: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
}
