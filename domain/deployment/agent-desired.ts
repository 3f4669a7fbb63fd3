import {
  DEFAULT_STARTUP_ORDER,
  IMAGE_PULL_POLICIES,
  RESTART_POLICIES,
  RESTART_POLICY_ALIASES,
  type ModuleSettings,
  type ModuleSpec,
  type RegistryCredential,
  type RestartPolicy,
} from '../modules/module-spec.js';
import { readCreateOptions } from './create-options.js';
import {
  configFormatError,
  DeploymentStatusCode,
  EMPTY_CONFIGURATION,
  type DeploymentStatus,
  type ParseResult,
} from './deployment-status.js';
import { credentialFor, normalizeImageName } from './image-name.js';
import { describe, isObject, join, Problems, type JsonObject } from './problems.js';

export const EDGE_AGENT = 'edgeAgent';
export const EDGE_HUB = 'edgeHub';

/** The agent's accepted `$edgeAgent` schema: 1.x up to 1.1.0 (`EdgeAgentConnection.ExpectedSchemaVersion`). */
export const EXPECTED_AGENT_SCHEMA_VERSION = '1.1.0';

export interface DockerRuntimeSettings {
  minDockerVersion: string;
  loggingOptions: string;
  registryCredentials: Record<string, RegistryCredential>;
}

export interface RuntimeInfo {
  type: 'docker';
  settings: DockerRuntimeSettings;
}

/** Validated `$edgeAgent` desired properties (Azure `DeploymentConfig`). */
export interface DeploymentConfig {
  schemaVersion: string;
  runtime?: RuntimeInfo;
  systemModules: { edgeAgent?: ModuleSpec; edgeHub?: ModuleSpec };
  /** User modules, sorted by name. */
  modules: ModuleSpec[];
}

/** .NET `Version` parsing: 2 to 4 dot-separated non-negative integers. */
export function parseDotnetVersion(text: string): number[] | undefined {
  if (!/^\d+\.\d+(\.\d+){0,2}$/.test(text)) return undefined;
  const parts = text.split('.').map((p) => Number.parseInt(p, 10));
  if (parts.some((p) => p > 2147483647)) return undefined;
  return parts;
}

/** .NET `Version` ordering: a missing component is -1, so `1.1 < 1.1.0 < 1.1.0.0`. */
export function compareDotnetVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 4; i++) {
    const diff = (a[i] ?? -1) - (b[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Azure `ValidateSchemaVersion`; `undefined` when accepted, else the 412 status. */
export function checkAgentSchemaVersion(value: unknown): DeploymentStatus | undefined {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  const parsed = parseDotnetVersion(text.trim());
  if (parsed === undefined) {
    return { code: DeploymentStatusCode.InvalidSchemaVersion, description: `Invalid desired properties schema version ${text}` };
  }
  const expected = parseDotnetVersion(EXPECTED_AGENT_SCHEMA_VERSION) as number[];
  if (parsed[0] !== 1 || compareDotnetVersions(parsed, expected) > 0) {
    return {
      code: DeploymentStatusCode.InvalidSchemaVersion,
      description: `The desired properties schema version ${text} is not compatible with the expected version ${EXPECTED_AGENT_SCHEMA_VERSION}`,
    };
  }
  return undefined;
}

/** Twin metadata keys (`$version`, `$metadata`) are not properties. */
export function hasProperties(desired: JsonObject): boolean {
  return Object.keys(desired).some((k) => !k.startsWith('$'));
}

/** IoT Hub module ids: up to 128 of `[A-Za-z0-9-:.+%_#*?!(),=@;$']`; `$` names are reserved for system modules. */
const MODULE_NAME = /^[A-Za-z0-9\-.+%_#*?!(),=@;']{1,128}$/;

function checkModuleName(name: string, path: string, problems: Problems): void {
  if (name === EDGE_AGENT || name === EDGE_HUB) {
    problems.add(path, `"${name}" is a system module; declare it under systemModules`);
  } else if (!MODULE_NAME.test(name) || name === '.' || name === '..') {
    problems.add(path, `module name "${name}" is invalid: use up to 128 letters, digits or -.+%_#*?!(),=@;' characters`);
  }
}

type ModuleRole = 'user' | 'edgeAgent' | 'edgeHub';

function parseEnv(value: unknown, path: string, problems: Problems): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = problems.object(path, value, false);
  if (raw === undefined) return env;
  for (const [key, entry] of Object.entries(raw)) {
    const entryPath = join(path, key);
    if (key.trim() === '' || key.includes('=')) {
      problems.add(entryPath, 'environment variable names must be non-empty and must not contain "="');
      continue;
    }
    if (!isObject(entry)) {
      problems.add(entryPath, `expected {"value": "..."} (got ${describe(entry)})`);
      continue;
    }
    const text = problems.optionalText(join(entryPath, 'value'), entry['value'], '');
    if (text !== undefined) env[key] = text;
  }
  return env;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** `settings.sha256` of a process module: the program's SHA-256, or `{"<file>": "<sha256>"}`. */
function parseProgramChecksum(value: unknown, path: string, problems: Problems): string | Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const expected = 'the SHA-256 of the program (64 hex digits), or {"<file>": "<sha256>", ...}';
  if (typeof value === 'string') {
    if (SHA256_HEX.test(value.trim())) return value.trim().toLowerCase();
    problems.add(path, `expected ${expected} (got ${describe(value)})`);
    return undefined;
  }
  if (!isObject(value) || Object.keys(value).length === 0) {
    problems.add(path, `expected ${expected} (got ${describe(value)})`);
    return undefined;
  }
  const files: Record<string, string> = {};
  for (const [file, hash] of Object.entries(value)) {
    if (file.trim() === '' || typeof hash !== 'string' || !SHA256_HEX.test(hash.trim())) {
      problems.add(join(path, file), `expected a SHA-256 (64 hex digits) of the file (got ${describe(hash)})`);
      continue;
    }
    files[file] = hash.trim().toLowerCase();
  }
  return files;
}

function parseSettings(
  type: ModuleSpec['type'] | undefined,
  value: unknown,
  path: string,
  credentials: readonly RegistryCredential[],
  problems: Problems,
): { settings: ModuleSettings; credential?: RegistryCredential } | undefined {
  const raw = problems.object(path, value, true);
  if (raw === undefined || type === undefined) return undefined;
  if (type === 'process') {
    const command = problems.text(join(path, 'command'), raw['command'], 'a command (non-empty string)');
    let args: string[] = [];
    if (raw['args'] !== undefined && raw['args'] !== null) {
      const list = raw['args'];
      if (!Array.isArray(list) || list.some((a) => typeof a !== 'string')) {
        problems.add(join(path, 'args'), `expected an array of strings (got ${describe(list)})`);
      } else {
        args = list as string[];
      }
    }
    let cwd: string | undefined;
    if (raw['cwd'] !== undefined && raw['cwd'] !== null) cwd = problems.text(join(path, 'cwd'), raw['cwd'], 'a directory path');
    const sha256 = parseProgramChecksum(raw['sha256'], join(path, 'sha256'), problems);
    if (command === undefined) return undefined;
    const settings: ModuleSettings = cwd === undefined ? { kind: 'process', command, args } : { kind: 'process', command, args, cwd };
    if (sha256 !== undefined) settings.sha256 = sha256;
    return { settings };
  }
  let image: string | undefined;
  if (typeof raw['image'] !== 'string') {
    problems.add(join(path, 'image'), `expected an image name (got ${describe(raw['image'])})`);
  } else {
    const normalized = normalizeImageName(raw['image']);
    if (normalized.ok) image = normalized.image;
    else problems.add(join(path, 'image'), normalized.message);
  }
  const createOptions = readCreateOptions(raw, path, problems);
  let digest: string | undefined;
  if (raw['digest'] !== undefined && raw['digest'] !== null) digest = problems.text(join(path, 'digest'), raw['digest'], 'an image digest');
  if (image === undefined || createOptions === undefined) return undefined;
  const settings: ModuleSettings = digest === undefined ? { kind: 'docker', image, createOptions } : { kind: 'docker', image, createOptions, digest };
  const credential = credentialFor(image, credentials);
  return credential === undefined ? { settings } : { settings, credential };
}

function parseModule(name: string, value: unknown, path: string, role: ModuleRole, credentials: readonly RegistryCredential[], problems: Problems): ModuleSpec | undefined {
  const raw = problems.object(path, value, true);
  if (raw === undefined) return undefined;
  const before = problems.list.length;
  const type = raw['type'] === undefined ? (problems.add(join(path, 'type'), 'required: "docker" or "process"'), undefined) : problems.enumValue(join(path, 'type'), raw['type'], ['docker', 'process'] as const, undefined);
  const version = problems.optionalText(join(path, 'version'), raw['version'], '');

  let status: ModuleSpec['status'] | undefined = 'running';
  let restartPolicy: RestartPolicy | undefined = 'always';
  let startupOrder: number | undefined = 0;
  if (role !== 'edgeAgent') {
    if (raw['status'] === undefined || raw['status'] === null) {
      problems.add(join(path, 'status'), 'required: "running" or "stopped"');
      status = undefined;
    } else {
      status = problems.enumValue(join(path, 'status'), raw['status'], ['running', 'stopped'] as const, undefined);
    }
    if (raw['restartPolicy'] === null) {
      problems.add(join(path, 'restartPolicy'), 'must not be null');
      restartPolicy = undefined;
    } else {
      restartPolicy = problems.enumValue(join(path, 'restartPolicy'), raw['restartPolicy'], RESTART_POLICIES, role === 'edgeHub' ? 'always' : 'on-unhealthy', RESTART_POLICY_ALIASES);
    }
    startupOrder = problems.uint(join(path, 'startupOrder'), raw['startupOrder'], DEFAULT_STARTUP_ORDER);
  }
  const imagePullPolicy = problems.enumValue(join(path, 'imagePullPolicy'), raw['imagePullPolicy'] ?? undefined, IMAGE_PULL_POLICIES, 'on-create');
  const env = parseEnv(raw['env'], join(path, 'env'), problems);
  const settings = parseSettings(type, raw['settings'], join(path, 'settings'), credentials, problems);

  if (problems.list.length !== before || type === undefined || version === undefined || status === undefined || restartPolicy === undefined) return undefined;
  if (startupOrder === undefined || imagePullPolicy === undefined || settings === undefined) return undefined;
  const spec: ModuleSpec = { name, version, type, status, restartPolicy, imagePullPolicy, startupOrder, env, settings: settings.settings };
  if (settings.credential !== undefined) spec.registryCredential = settings.credential;
  return spec;
}

function parseRuntime(value: unknown, problems: Problems): RuntimeInfo | undefined {
  const raw = problems.object('runtime', value, false);
  if (raw === undefined) return undefined;
  problems.enumValue('runtime.type', raw['type'], ['docker'] as const, undefined);
  const settings = problems.object('runtime.settings', raw['settings'], false) ?? {};
  const minDockerVersion = problems.optionalText('runtime.settings.minDockerVersion', settings['minDockerVersion'], '') ?? '';
  const loggingOptions = problems.optionalText('runtime.settings.loggingOptions', settings['loggingOptions'], '') ?? '';
  const registryCredentials: Record<string, RegistryCredential> = {};
  const creds = problems.object('runtime.settings.registryCredentials', settings['registryCredentials'], false) ?? {};
  for (const [name, entry] of Object.entries(creds)) {
    const path = `runtime.settings.registryCredentials.${name}`;
    const cred = problems.object(path, entry, true);
    if (cred === undefined) continue;
    const address = problems.text(join(path, 'address'), cred['address'], 'a registry address');
    const username = problems.text(join(path, 'username'), cred['username'], 'a user name');
    const password = problems.text(join(path, 'password'), cred['password'], 'a password');
    if (address !== undefined && username !== undefined && password !== undefined) registryCredentials[name] = { address, username, password };
  }
  return { type: 'docker', settings: { minDockerVersion, loggingOptions, registryCredentials } };
}

/**
 * Validates `$edgeAgent` `properties.desired` and maps the outcome to Azure's status codes:
 * missing or empty => 417, bad `schemaVersion` => 412, anything else malformed => 400 listing every
 * problem, else the normalized `DeploymentConfig`.
 */
export function parseAgentDesired(desired: unknown): ParseResult<DeploymentConfig> {
  if (desired === undefined || desired === null) return { ok: false, status: EMPTY_CONFIGURATION };
  if (!isObject(desired)) return { ok: false, status: configFormatError([{ path: '', message: `$edgeAgent desired properties must be an object (got ${describe(desired)})` }]) };
  if (!hasProperties(desired)) return { ok: false, status: EMPTY_CONFIGURATION };
  const schemaProblem = checkAgentSchemaVersion(desired['schemaVersion']);
  if (schemaProblem !== undefined) return { ok: false, status: schemaProblem };

  const problems = new Problems();
  const runtime = parseRuntime(desired['runtime'], problems);
  const credentials = Object.values(runtime?.settings.registryCredentials ?? {});

  const systemModules: DeploymentConfig['systemModules'] = {};
  const system = problems.object('systemModules', desired['systemModules'], false) ?? {};
  for (const key of Object.keys(system)) {
    if (key !== EDGE_AGENT && key !== EDGE_HUB) problems.add(`systemModules.${key}`, 'only edgeAgent and edgeHub are system modules; put other modules under modules');
  }
  if (system[EDGE_AGENT] !== undefined) systemModules.edgeAgent = parseModule(EDGE_AGENT, system[EDGE_AGENT], 'systemModules.edgeAgent', 'edgeAgent', credentials, problems);
  if (system[EDGE_HUB] !== undefined) systemModules.edgeHub = parseModule(EDGE_HUB, system[EDGE_HUB], 'systemModules.edgeHub', 'edgeHub', credentials, problems);

  const modules: ModuleSpec[] = [];
  const rawModules = problems.object('modules', desired['modules'], false) ?? {};
  for (const name of Object.keys(rawModules).sort()) {
    const path = `modules.${name}`;
    checkModuleName(name, path, problems);
    const spec = parseModule(name, rawModules[name], path, 'user', credentials, problems);
    if (spec !== undefined) modules.push(spec);
  }

  if (!problems.empty) return { ok: false, status: configFormatError(problems.list) };
  const config: DeploymentConfig = { schemaVersion: String(desired['schemaVersion']), systemModules, modules };
  if (runtime !== undefined) config.runtime = runtime;
  return { ok: true, value: config };
}
