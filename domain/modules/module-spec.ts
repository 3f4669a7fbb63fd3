/**
 * What a module is, as the deployment describes it: the normalized, validated form of one entry of
 * `$edgeAgent` `modules` (or `systemModules`). Plain data, compared structurally by the planner.
 */

/** Desired status of a module (`status` in the manifest). */
export type DesiredStatus = 'running' | 'stopped';

/** Restart policies in Azure's order (`never=0 < on-failure=1 < on-unhealthy=2 < always=3`). */
export const RESTART_POLICIES = ['never', 'on-failure', 'on-unhealthy', 'always'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/**
 * Restart-policy spellings beyond Azure 1.x's that mean one of them, in folded form (lower case,
 * no `-`/`_`): the 2017 preview's `Unhealthy` is `on-unhealthy`. The other preview spellings
 * (`onFailure`, `OnFailure`, `Never`, `Always`) fold onto the canonical names by themselves.
 */
export const RESTART_POLICY_ALIASES: Readonly<Record<string, RestartPolicy>> = Object.freeze({ unhealthy: 'on-unhealthy' });

export const IMAGE_PULL_POLICIES = ['on-create', 'never'] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];

/** `startupOrder` when the manifest gives none (`uint.MaxValue`: started last). */
export const DEFAULT_STARTUP_ORDER = 4294967295;

export interface RegistryCredential {
  address: string;
  username: string;
  password: string;
}

/** Settings of a Docker module (`settings.image`, `settings.createOptions[NN]`, `settings.digest`). */
export interface DockerModuleSettings {
  kind: 'docker';
  /** Normalized image name (trimmed, `:latest` added when no tag). */
  image: string;
  /** Parsed Docker `CreateContainerParameters` (the reassembled `createOptions` string). */
  createOptions: Record<string, unknown>;
  digest?: string;
}

/** Settings of an Edgeport process module (`type: "process"`). */
export interface ProcessModuleSettings {
  kind: 'process';
  command: string;
  args: string[];
  cwd?: string;
  /**
   * SHA-256 (lower-case hex) the program must have before it starts: of the command's file, or
   * per file (`{"worker.js": "..."}`, relative to `cwd`) for scripts run by an interpreter.
   */
  sha256?: string | Record<string, string>;
}

export type ModuleSettings = DockerModuleSettings | ProcessModuleSettings;
export type ModuleType = ModuleSettings['kind'];

export interface ModuleSpec {
  name: string;
  version: string;
  type: ModuleType;
  status: DesiredStatus;
  restartPolicy: RestartPolicy;
  imagePullPolicy: ImagePullPolicy;
  startupOrder: number;
  /** `env: {NAME: {value}}` flattened to `{NAME: value}`. */
  env: Record<string, string>;
  settings: ModuleSettings;
  /** Credentials of the registry the image comes from (Docker modules only), matched by address. */
  registryCredential?: RegistryCredential;
}

/** Numeric rank of a restart policy, for comparisons such as `policy > never`. */
export function restartPolicyRank(policy: RestartPolicy): number {
  return RESTART_POLICIES.indexOf(policy);
}

/**
 * Canonical JSON (object keys sorted) so two specs that mean the same compare equal regardless of
 * key order in the manifest.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What makes a module: everything but its registry credential. As in Azure (`DockerModule.Equals`
 * leaves credentials out), a rotated password re-creates nothing, and a runtime that cannot read
 * the credential back (Docker labels keep only its hash) still recognises its module.
 */
function comparable(spec: ModuleSpec): unknown {
  const { registryCredential: _credential, ...rest } = spec;
  return rest;
}

/** Everything except `status` (and the credential): a difference here means the module must be re-created. */
function identityOf(spec: ModuleSpec): unknown {
  const { status: _status, registryCredential: _credential, ...rest } = spec;
  return rest;
}

/** Same module in every respect but its registry credential (Azure `DockerModule.Equals`). */
export function specsEqual(a: ModuleSpec, b: ModuleSpec): boolean {
  return canonicalJson(comparable(a)) === canonicalJson(comparable(b));
}

/** Only the desired `status` differs (Azure `IsOnlyModuleStatusChanged`). */
export function onlyStatusChanged(a: ModuleSpec, b: ModuleSpec): boolean {
  return a.status !== b.status && canonicalJson(identityOf(a)) === canonicalJson(identityOf(b));
}
