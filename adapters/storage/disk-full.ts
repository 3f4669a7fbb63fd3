import { DiskFullError } from '../../application/ports/message-store.js';

/**
 * Error codes meaning "no space left": SQLite's `SQLITE_FULL` (better-sqlite3 and the writer
 * thread keep the code), the file system's `ENOSPC`, PostgreSQL's `53100` (disk_full).
 */
const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', '53100']);

/** True when `error` (or a driver error it wraps) says the disk is full. */
export function isDiskFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_FULL_CODES.has(code)) return true;
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

/** `error` as a `DiskFullError` naming `location` when it says the disk is full; else `error` unchanged. */
export function asDiskFull(error: unknown, location: string): unknown {
  return isDiskFull(error) && !(error instanceof DiskFullError) ? new DiskFullError(location, error) : error;
}
