import { isObject } from './problems.js';

/**
 * The patch that turns `previous` into `next` for twin reported properties (Azure `JsonEx.Diff`):
 * changed or new keys carry the new value, objects recurse, removed keys become `null`.
 * Arrays and scalars are replaced whole. An empty object means "nothing to report".
 */
export function reportedDiff(previous: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined) continue;
    const before = previous[key];
    if (isObject(value) && isObject(before)) {
      const inner = reportedDiff(before, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (JSON.stringify(before) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  for (const key of Object.keys(previous)) {
    if (next[key] === undefined) patch[key] = null;
  }
  return patch;
}

/** Applies a reported-properties patch (null deletes), returning a new document. */
export function applyReportedPatch(document: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...document };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isObject(value) && isObject(out[key])) out[key] = applyReportedPatch(out[key] as Record<string, unknown>, value);
    else out[key] = value;
  }
  return out;
}

/**
 * The patch that makes a twin whose reported properties are `previous` hold exactly `next`: all of
 * `next` (a full report, as Azure sends after a restart), plus `null` for every key of `previous`
 * that `next` lacks, at any depth. Keys starting with `$` (`$version`, `$metadata`) are the
 * twin's, not the reporter's, and are left alone.
 */
export function replacementPatch(previous: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined) continue;
    const before = previous[key];
    patch[key] = isObject(value) && isObject(before) ? replacementPatch(before, value) : value;
  }
  for (const key of Object.keys(previous)) {
    if (!key.startsWith('$') && next[key] === undefined) patch[key] = null;
  }
  return patch;
}
