import { chmod, lstat, mkdir, open, stat } from 'node:fs/promises';

/** Receives one line per file or directory whose mode was tightened (path, old and new mode). */
export type ModeWarning = (message: string, fields: { path: string; oldMode: string; newMode: string }) => void;

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * Removes the permission bits `mode` does not allow from an existing path (never widens it) and
 * reports the change once; a missing path is left alone. Returns whether the mode changed.
 */
export async function tightenMode(path: string, mode: number, warn: ModeWarning): Promise<boolean> {
  let current: number;
  try {
    const info = await lstat(path);
    if (info.isSymbolicLink()) return false; // chmod would follow it to a file we do not own
    current = info.mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const allowed = current & mode;
  if (allowed === current) return false;
  await chmod(path, allowed);
  warn(`${path} had mode ${octal(current)}, wider than needed for secrets; changed to ${octal(allowed)}`, { path, oldMode: octal(current), newMode: octal(allowed) });
  return true;
}

/** Creates `dir` (and missing parents) with mode 0700; an existing wider one is tightened with a warning. */
export async function ensurePrivateDir(dir: string, warn: ModeWarning): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await tightenMode(dir, PRIVATE_DIR_MODE, warn);
}

/**
 * Makes sure `file` exists with mode 0600 without touching its content: created empty (and
 * private from the first byte) when absent, tightened with a warning when wider. SQLite creates its
 * `-wal` and `-shm` files with the database file's mode, so pre-creating the database this way
 * keeps all three private.
 */
export async function ensurePrivateFile(file: string, warn: ModeWarning): Promise<void> {
  const handle = await open(file, 'a', PRIVATE_FILE_MODE);
  await handle.close();
  await tightenMode(file, PRIVATE_FILE_MODE, warn);
}

/** The permission bits of `path` (for checks and tests), or undefined when it does not exist. */
export async function modeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return undefined;
  }
}
