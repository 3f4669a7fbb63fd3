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
