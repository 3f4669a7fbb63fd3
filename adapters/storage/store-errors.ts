import { DiskFullError, StoreUnavailableError } from '../../application/ports/message-store.js';

/**
 * Error codes meaning "no space left": SQLite's `SQLITE_FULL` (better-sqlite3 and the writer
 * thread keep the code), the file system's `ENOSPC`, PostgreSQL's `53100` (disk_full).
 */
const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', '53100']);

/**
 * Codes meaning the database server is not there (rather than refusing this statement): socket
 * errors, PostgreSQL's connection exceptions (class 08) and operator intervention (57P01 admin
 * shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
 */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
/** node-postgres reports a server that went away mid-query with these messages and no code. */
const UNREACHABLE_MESSAGES = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/** `error` and the driver errors it wraps (TypeORM's `driverError`, `cause`), outermost first. */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 3; depth++) {
    out.push(e);
    e = (e as { driverError?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return out;
}

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `error` (or a driver error it wraps) says the disk is full. */
export function isDiskFull(error: unknown): boolean {
  return chain(error).some((e) => DISK_FULL_CODES.has(codeOf(e) ?? ''));
}

/** True when `error` (or a driver error it wraps) says the database server cannot be reached. */
export function isUnreachable(error: unknown): boolean {
  return chain(error).some((e) => UNREACHABLE_CODES.has(codeOf(e) ?? '') || (e instanceof Error && UNREACHABLE_MESSAGES.test(e.message)));
}

/**
 * `error` as the refusal an operator can act on: `DiskFullError` (no space), or, for a database
 * server, `StoreUnavailableError` (it does not answer), naming `location`; else `error` unchanged.
 */
export function asStoreError(error: unknown, location: string, server: boolean): unknown {
  if (error instanceof DiskFullError || error instanceof StoreUnavailableError) return error;
  if (isDiskFull(error)) return new DiskFullError(location, error);
  if (server && isUnreachable(error)) return new StoreUnavailableError(location, error);
  return error;
}
