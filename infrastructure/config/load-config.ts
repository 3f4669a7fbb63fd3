import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { CONFIG_LEAVES, readEnvOverrides } from './env-overrides.js';
import { configSchema, type RawConfig } from './schema.js';

/** The validated configuration with every derived path resolved to an absolute path. */
export type EdgeportConfig = RawConfig & {
  storage: RawConfig['storage'] & { path: string };
  certs: { dir: string };
  secrets: { keyFile: string };
  /** Where the settings came from, for logs. */
  source: { file: string | null; env: string[] };
};

export interface ConfigProblem {
  /** Dotted key path, e.g. `hub.mqtt.port` ('' for the whole file). */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'EDGEPORT_CONFIG_INVALID';
  constructor(
    readonly problems: ConfigProblem[],
    readonly file: string | null,
  ) {
    super(`${problems.length} configuration problem${problems.length === 1 ? '' : 's'}${file ? ` in ${file}` : ''}:\n` + problems.map((p) => `  ${formatProblem(p)}`).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(problem: ConfigProblem): string {
  return problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`;
}

export interface LoadConfigOptions {
  /** Explicit file; when absent, EDGEPORT_CONFIG, then ./edgeport.toml if it exists, else defaults only. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a table';
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** The keys the schema allows directly under `path`. */
function knownKeys(path: string[]): string[] {
  const keys = new Set<string>();
  for (const leaf of CONFIG_LEAVES) {
    if (leaf.path.length > path.length && path.every((segment, i) => leaf.path[i] === segment)) keys.add(leaf.path[path.length]!);
  }
  return [...keys];
}

function issueToProblems(issue: z.core.$ZodIssue, envByPath: Map<string, string>): ConfigProblem[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path.map(String));
    return issue.keys.map((key) => ({ path: path === '' ? key : `${path}.${key}`, message: `unknown key (expected one of: ${known.join(', ')})` }));
  }
  const fromEnv = envByPath.get(path);
  const where = fromEnv ? ` (from ${fromEnv})` : '';
  const input = (issue as { input?: unknown }).input;
  const got = input === '(hidden)' ? '' : `, got ${describeValue(input)}`;
  return [{ path: `${path}${where}`, message: `${issue.message}${got}` }];
}

function resolveFile(options: LoadConfigOptions, env: NodeJS.ProcessEnv, cwd: string): string | null {
  const explicit = options.file ?? env['EDGEPORT_CONFIG'];
  if (explicit !== undefined && explicit !== '') return resolve(cwd, explicit);
  const conventional = join(cwd, 'edgeport.toml');
  try {
    readFileSync(conventional);
    return conventional;
  } catch {
    return null;
  }
}

/**
 * Reads the TOML file (if any), applies `EDGEPORT_*` overrides, validates, and resolves paths.
 * Reports every problem at once in a ConfigError; never returns a partially valid configuration.
 */
export function loadConfig(options: LoadConfigOptions = {}): EdgeportConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = resolveFile(options, env, cwd);
  const problems: ConfigProblem[] = [];

  let document: Record<string, unknown> = {};
  if (file !== null) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }], file);
    }
    try {
      document = parseToml(text) as Record<string, unknown>;
    } catch (error) {
      const message = error instanceof TomlError ? `TOML syntax error at line ${error.line}, column ${error.column}: ${error.message.split('\n')[0]}` : String(error);
      throw new ConfigError([{ path: '', message }], file);
    }
  }

  const overrides = readEnvOverrides(env);
  for (const name of overrides.unknown) problems.push({ path: name, message: 'unknown environment variable (no configuration key has this name)' });
  const envByPath = new Map<string, string>();
  for (const { leaf, value } of overrides.values) {
    setPath(document, leaf.path, value);
    envByPath.set(leaf.path.join('.'), leaf.env);
  }

  const parsed = configSchema.safeParse(document, { reportInput: true });
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(...issueToProblems(issue, envByPath));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems, file);

  const raw = parsed.data;
  const dataDir = isAbsolute(raw.dataDir) ? raw.dataDir : resolve(cwd, raw.dataDir);
  const under = (value: string, fallback: string): string => (value === '' ? join(dataDir, fallback) : resolve(cwd, value));
  return {
    ...raw,
    dataDir,
    storage: { ...raw.storage, path: under(raw.storage.path, 'edgeport.db') },
    certs: { dir: under(raw.certs.dir, 'certs') },
    secrets: { keyFile: under(raw.secrets.keyFile, join('secrets', 'master.key')) },
    agent: {
      ...raw.agent,
      manifest: raw.agent.manifest === '' ? '' : resolve(cwd, raw.agent.manifest),
      registryCredentialsFile: raw.agent.registryCredentialsFile === '' ? '' : resolve(cwd, raw.agent.registryCredentialsFile),
      trust: {
        ...raw.agent.trust,
        manifestRootCa: raw.agent.trust.manifestRootCa === '' ? '' : resolve(cwd, raw.agent.trust.manifestRootCa),
        imageKeys: raw.agent.trust.imageKeys.map((key) => resolve(cwd, key)),
      },
    },
    source: { file, env: [...envByPath.values()] },
  };
}
