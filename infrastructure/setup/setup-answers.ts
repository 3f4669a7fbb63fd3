import { hostname as osHostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** Everything `edgeport setup` asks, whether from prompts or flags. */
export interface SetupAnswers {
  mode: 'standalone' | 'connected';
  /** Connected mode: the IoT Hub edge device connection string (a secret). */
  connectionString?: string;
  /** Standalone mode: the edge device's id (connected mode takes it from the connection string). */
  deviceId: string;
  hostname: string;
  dataDir: string;
  storage: 'sqlite' | 'postgres';
  /** PostgreSQL URL (may hold a password). */
  storageUrl?: string;
  runtime: 'auto' | 'docker' | 'process';
  ports: { mqtt: number; amqp: number; https: number; metrics: number };
  registry?: { address: string; username: string; password: string };
  /** Where the registry credentials go (absolute). */
  registryCredentialsFile: string;
}

/** What the flags of `edgeport setup` may set (all optional; prompts or defaults fill the rest). */
export interface SetupFlags {
  mode?: string;
  connectionString?: string;
  deviceId?: string;
  hostname?: string;
  dataDir?: string;
  storage?: string;
  storageUrl?: string;
  runtime?: string;
  mqttPort?: string;
  amqpPort?: string;
  httpsPort?: string;
  metricsPort?: string;
  registry?: string;
  registryUsername?: string;
  registryPassword?: string;
  registryCredentialsFile?: string;
}

export class SetupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SetupError';
  }
}

export const DEFAULT_PORTS = { mqtt: 8883, amqp: 5671, https: 443, metrics: 9600 } as const;

/** `HostName=...;DeviceId=...;SharedAccessKey=...` split into its parts. */
export function connectionStringParts(text: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return parts;
}

/** Why a connection string cannot be the edge device's, or undefined when it can (never quotes it). */
export function connectionStringProblem(text: string): string | undefined {
  const parts = connectionStringParts(text);
  const missing = ['HostName', 'DeviceId', 'SharedAccessKey'].filter((k) => !parts.get(k));
  if (missing.length > 0) return `the connection string lacks ${missing.join(', ')} (expected HostName=<hub>.azure-devices.net;DeviceId=<edge device>;SharedAccessKey=<key>)`;
  if (parts.has('ModuleId')) return 'that is a module connection string; use the edge device\'s (without ModuleId)';
  return undefined;
}

export function portProblem(name: string, text: string): string | undefined {
  return /^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 65535 ? undefined : `${name} must be a port 1-65535 (got ${JSON.stringify(text)})`;
}

/** Default data directory: /var/lib/edgeport for root, else `data` beside the configuration file. */
export function defaultDataDir(configFile: string): string {
  return process.getuid?.() === 0 ? '/var/lib/edgeport' : join(dirname(configFile), 'data');
}

export function defaultRegistryCredentialsFile(configFile: string): string {
  return join(dirname(configFile), 'registry-credentials.json');
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T, problems: string[]): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return fallback;
}

/**
 * The answers from flags alone (`--non-interactive`), every problem at once. Secrets are checked
 * for shape and never quoted in a problem.
 */
/** Problems with the values the flags give (absent flags are not problems here). */
export function flagProblems(flags: SetupFlags): string[] {
  const problems: string[] = [];
  oneOf('--mode', flags.mode, ['standalone', 'connected'] as const, 'standalone', problems);
  oneOf('--storage', flags.storage, ['sqlite', 'postgres'] as const, 'sqlite', problems);
  oneOf('--runtime', flags.runtime, ['auto', 'docker', 'process'] as const, 'auto', problems);
  if (flags.connectionString !== undefined) {
    const problem = connectionStringProblem(flags.connectionString);
    if (problem !== undefined) problems.push(`--connection-string: ${problem}`);
  }
  if (flags.storageUrl !== undefined && !/^postgres(ql)?:\/\/./.test(flags.storageUrl)) problems.push('--storage-url must be a postgres:// URL');
  for (const key of ['mqtt', 'amqp', 'https', 'metrics'] as const) {
    const text = flags[`${key}Port`];
    const problem = text === undefined ? undefined : portProblem(`--${key}-port`, text);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

export function answersFromFlags(flags: SetupFlags, configFile: string): SetupAnswers {
  const problems = flagProblems(flags);
  const mode = oneOf('--mode', flags.mode, ['standalone', 'connected'] as const, flags.connectionString !== undefined ? 'connected' : 'standalone', []);
  const storage = oneOf('--storage', flags.storage, ['sqlite', 'postgres'] as const, flags.storageUrl !== undefined ? 'postgres' : 'sqlite', []);
  const runtime = oneOf('--runtime', flags.runtime, ['auto', 'docker', 'process'] as const, 'auto', []);
  if (mode === 'connected' && flags.connectionString === undefined) problems.push('--connection-string is required with --mode connected');
  if (mode === 'standalone' && flags.connectionString !== undefined) problems.push('--connection-string is for --mode connected');
  if (storage === 'postgres' && flags.storageUrl === undefined) problems.push('--storage-url (a postgres:// URL) is required with --storage postgres');
  if (storage === 'sqlite' && flags.storageUrl !== undefined) problems.push('--storage-url is for --storage postgres');
  const ports: SetupAnswers['ports'] = { ...DEFAULT_PORTS };
  for (const key of ['mqtt', 'amqp', 'https', 'metrics'] as const) {
    const text = flags[`${key}Port`];
    if (text !== undefined && portProblem('', text) === undefined) ports[key] = Number(text);
  }
  const registryGiven = [flags.registry, flags.registryUsername, flags.registryPassword].filter((v) => v !== undefined).length;
  if (registryGiven > 0 && registryGiven < 3) problems.push('--registry, --registry-username and --registry-password go together');
  if (problems.length > 0) throw new SetupError(problems);
  const answers: SetupAnswers = {
    mode,
    deviceId: flags.deviceId ?? 'edgeport-device',
    hostname: flags.hostname ?? osHostname(),
    dataDir: resolve(flags.dataDir ?? defaultDataDir(configFile)),
    storage,
    runtime,
    ports,
    registryCredentialsFile: resolve(flags.registryCredentialsFile ?? defaultRegistryCredentialsFile(configFile)),
  };
  if (mode === 'connected') answers.connectionString = flags.connectionString!;
  if (storage === 'postgres') answers.storageUrl = flags.storageUrl!;
  if (registryGiven === 3) answers.registry = { address: flags.registry!, username: flags.registryUsername!, password: flags.registryPassword! };
  return answers;
}

const str = (value: string): string => JSON.stringify(value);

/**
 * The configuration file for the answers: TOML with the keys `edgeport run` reads (the registry
 * password is not in it: it goes to the credentials file the configuration names).
 */
export function renderConfig(answers: SetupAnswers, writtenAt: Date, version: string): string {
  const lines = [
    `# Written by edgeport setup ${version} on ${writtenAt.toISOString()}; every key: docs/configuration.md.`,
    '# Check it with: edgeport check -c <this file>',
    `hostname = ${str(answers.hostname)}`,
  ];
  if (answers.mode === 'connected') {
    const parts = connectionStringParts(answers.connectionString!);
    lines.push(`deviceId = ${str(parts.get('DeviceId')!)}`, `iotHubHostname = ${str(parts.get('HostName')!)}`);
  } else {
    lines.push(`deviceId = ${str(answers.deviceId)}`);
  }
  lines.push(`dataDir = ${str(answers.dataDir)}`, '', '[hub.mqtt]', `port = ${answers.ports.mqtt}`, '', '[hub.amqp]', `port = ${answers.ports.amqp}`, '', '[hub.https]', `port = ${answers.ports.https}`, '');
  lines.push('[metrics]', `port = ${answers.ports.metrics}`, '', '[storage]', `kind = ${str(answers.storage)}`);
  if (answers.storage === 'postgres') lines.push(`url = ${str(answers.storageUrl!)}`);
  lines.push('', '[agent]', `runtime = ${str(answers.runtime)}`);
  // Standalone: where `edgeport deploy` puts the manifest the agent follows.
  if (answers.mode === 'standalone') lines.push(`manifest = ${str(join(answers.dataDir, 'deployment.json'))}`);
  if (answers.registry !== undefined) lines.push(`registryCredentialsFile = ${str(answers.registryCredentialsFile)}`);
  lines.push('', '[upstream]');
  if (answers.mode === 'connected') lines.push('kind = "iothub"', `connectionString = ${str(answers.connectionString!)}`);
  else lines.push('kind = "none"');
  return `${lines.join('\n')}\n`;
}

/** True when the configuration text holds a secret (a connection string key, a URL password). */
export function holdsSecret(answers: SetupAnswers): boolean {
  return answers.mode === 'connected' || (answers.storage === 'postgres' && /:\/\/[^/@]*:[^/@]*@/.test(answers.storageUrl ?? ''));
}
