import { readFileSync } from 'node:fs';

/**
 * `upstream.caFile` (or the `setting` named, e.g. `upstream.trustBundleFile`) as PEM text
 * (undefined when unset), with a clear error; apart from the upstream module, which is loaded
 * only when configured.
 */
export function readCaFile(path: string, setting = 'upstream.caFile'): string | undefined {
  if (path === '') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${setting} ${path}: ${(error as Error).message}`, { cause: error });
  }
}
