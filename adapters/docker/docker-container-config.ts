import { basename, dirname } from 'node:path';
import type Docker from 'dockerode';
import { canonicalJson, type DockerModuleSettings, type ModuleSpec } from '../../domain/modules/module-spec.js';
import { credentialHash, LABELS, OWNER } from './docker-labels.js';

/** Where containers see the workload socket's directory (Azure's `/var/run/iotedge`). */
export const WORKLOAD_MOUNT_DIR = '/var/run/iotedge';

/**
 * The workload socket for a container: its directory bind-mounted (a directory, not the socket
 * file, so a runtime restart that re-creates the socket reaches running containers) and the
 * environment's `IOTEDGE_WORKLOADURI` rewritten to the path inside the container.
 */
export function withWorkloadMount(env: Readonly<Record<string, string>>, binds: unknown, workloadSocket: string | undefined): { env: Record<string, string>; binds: unknown } {
  if (workloadSocket === undefined || env['IOTEDGE_WORKLOADURI'] === undefined) return { env: { ...env }, binds };
  const bind = `${dirname(workloadSocket)}:${WORKLOAD_MOUNT_DIR}`;
  return {
    env: { ...env, IOTEDGE_WORKLOADURI: `unix://${WORKLOAD_MOUNT_DIR}/${basename(workloadSocket)}` },
    binds: [...(Array.isArray(binds) ? binds.filter((b) => b !== bind) : []), bind],
  };
}

/** `NAME=value` list to a map, keeping the last of duplicates. */
function envMap(list: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq < 0) map.set(entry, entry);
    else map.set(entry.slice(0, eq), entry);
  }
  return map;
}

/**
 * The container environment: the agent's module environment, then `createOptions.Env`, whose
 * entries override same-named variables (edgelet `merge_env`).
 */
export function mergeEnv(moduleEnv: Readonly<Record<string, string>>, createEnv: unknown): string[] {
  const merged = envMap(Object.entries(moduleEnv).map(([k, v]) => `${k}=${v}`));
  if (Array.isArray(createEnv)) {
    for (const [name, entry] of envMap(createEnv.filter((e): e is string => typeof e === 'string'))) merged.set(name, entry);
  }
  return [...merged.values()];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** What the runtime adds to every container it creates (its options, not the module's). */
export interface ContainerDefaults {
  /** Extra labels of this runtime (test run id, `edgeport.instance`). */
  labels: Readonly<Record<string, string>>;
  /** `HostConfig.NetworkMode` when `createOptions` sets none. */
  defaultNetworkMode?: string | undefined;
  /** Host path of the workload socket (see `withWorkloadMount`). */
  workloadSocket?: string | undefined;
}

/**
 * Docker's `ContainerCreate` body for a module: `createOptions` passed through, with the container
 * name, the image (`source.runAs`: the verified digest when the trust policy checked it), the
 * merged environment, Edgeport's labels (winning over the module's on a
 * clash), the default network mode and the workload socket's bind.
 */
/** The image a container is created from: `settings.image`, or the verified `repo@sha256:...`. */
export interface ContainerImage {
  runAs: string;
  /** The manifest digest, when known: kept in a label (the digest this tag last ran from). */
  digest?: string | undefined;
}

export function containerCreateOptions(
  spec: ModuleSpec & { settings: DockerModuleSettings },
  env: Readonly<Record<string, string>>,
  name: string,
  defaults: ContainerDefaults,
  source: ContainerImage = { runAs: spec.settings.image },
): Docker.ContainerCreateOptions {
  const { image, createOptions } = spec.settings;
  const { registryCredential, status: _status, ...identity } = spec;
  const labels: Record<string, string> = {
    ...(isRecord(createOptions['Labels']) ? (createOptions['Labels'] as Record<string, string>) : {}),
    ...defaults.labels,
    [LABELS.owner]: OWNER,
    [LABELS.originalImage]: image,
    [LABELS.module]: spec.name,
    [LABELS.spec]: canonicalJson(identity),
    [LABELS.status]: spec.status,
  };
  if (registryCredential !== undefined) labels[LABELS.credential] = credentialHash(registryCredential);
  if (source.digest !== undefined) labels[LABELS.imageDigest] = source.digest;
  const hostConfig: Record<string, unknown> = isRecord(createOptions['HostConfig']) ? { ...createOptions['HostConfig'] } : {};
  if (hostConfig['NetworkMode'] === undefined && defaults.defaultNetworkMode !== undefined) hostConfig['NetworkMode'] = defaults.defaultNetworkMode;
  const workload = withWorkloadMount(env, hostConfig['Binds'], defaults.workloadSocket);
  if (workload.binds !== undefined) hostConfig['Binds'] = workload.binds;
  return {
    ...createOptions,
    name,
    Image: source.runAs,
    Env: mergeEnv(workload.env, createOptions['Env']),
    Labels: labels,
    HostConfig: hostConfig,
  } as Docker.ContainerCreateOptions;
}
