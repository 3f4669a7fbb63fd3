import type { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * Variables that start with EDGEPORT_ but are not configuration keys: the config file path, the
 * test switch, and the SQLite writer diagnostic switch the storage adapter reads (docs/storage.md).
 */
const NON_CONFIG_VARIABLES = new Set(['EDGEPORT_CONFIG', 'EDGEPORT_REQUIRE_SERVICES', 'EDGEPORT_SQLITE_WRITER']);

type LeafKind = 'number' | 'boolean' | 'string';

export interface ConfigLeaf {
  path: string[];
  env: string;
  kind: LeafKind;
}

/** `timeToLiveSecs` -> `TIME_TO_LIVE_SECS`. */
export function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

// zod's internal definitions are not part of its typed surface; we only read `type`, `shape` and
// the wrapped `innerType`, which have been stable across zod 4 releases.
interface SchemaDef {
  type: string;
  shape?: Record<string, { def: SchemaDef }>;
  innerType?: { def: SchemaDef };
  in?: { def: SchemaDef };
}

function unwrap(def: SchemaDef): SchemaDef {
  let current = def;
  while (current.innerType !== undefined || current.in !== undefined) {
    current = (current.innerType ?? current.in)!.def;
  }
  return current;
}

function collectLeaves(def: SchemaDef, path: string[], out: ConfigLeaf[]): void {
  const inner = unwrap(def);
  if (inner.type === 'object' && inner.shape !== undefined) {
    for (const [key, child] of Object.entries(inner.shape)) collectLeaves(child.def, [...path, key], out);
    return;
  }
  const kind: LeafKind = inner.type === 'number' ? 'number' : inner.type === 'boolean' ? 'boolean' : 'string';
  out.push({ path, env: `EDGEPORT_${path.map(envSegment).join('_')}`, kind });
}

/** Every configuration key with its environment variable name, derived from the schema. */
export const CONFIG_LEAVES: readonly ConfigLeaf[] = (() => {
  const out: ConfigLeaf[] = [];
  collectLeaves((configSchema as unknown as z.ZodType & { def: SchemaDef }).def, [], out);
  return out;
})();

export interface EnvOverrides {
  /** Values to merge over the file, keyed by path. */
  values: Array<{ leaf: ConfigLeaf; value: unknown }>;
  /** EDGEPORT_* variables that name no configuration key. */
  unknown: string[];
}

function coerce(raw: string, kind: LeafKind): unknown {
  const trimmed = raw.trim();
  if (kind === 'number' && /^[-+]?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (kind === 'boolean' && /^(true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === 'true';
  // Left as a string so validation reports `expected ..., got "abc"` with the user's text.
  return raw;
}

export function readEnvOverrides(env: NodeJS.ProcessEnv): EnvOverrides {
  const byName = new Map(CONFIG_LEAVES.map((leaf) => [leaf.env, leaf]));
  const values: EnvOverrides['values'] = [];
  const unknown: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('EDGEPORT_') || raw === undefined || NON_CONFIG_VARIABLES.has(name)) continue;
    const leaf = byName.get(name);
    if (leaf === undefined) unknown.push(name);
    else values.push({ leaf, value: coerce(raw, leaf.kind) });
  }
  unknown.sort();
  return { values, unknown };
}
