import { RuntimeUnavailableError } from '../../application/ports/module-runtime.js';

/** Socket errors that mean nobody answers on the engine's socket (stopped, restarting, gone). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EACCES']);

/**
 * `error` as a `RuntimeUnavailableError` naming the socket when the engine did not answer at all
 * (no HTTP status); other errors unchanged.
 */
export function asUnavailable(error: unknown, socketPath: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (statusOf(error) !== undefined || typeof code !== 'string' || !UNREACHABLE.has(code)) return error;
  return new RuntimeUnavailableError(`the Docker engine does not answer on ${socketPath} (${code}): is dockerd running? Modules are listed again once it answers`, error);
}

/** Something Docker answered with an HTTP status (dockerode errors carry `statusCode`). */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The engine's own message of a dockerode error, without dockerode's `(HTTP code N) ...` prefix. */
export function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (json !== undefined && json !== null && typeof json.message === 'string') return json.message.trim();
  const text = error instanceof Error ? error.message : String(error);
  // dockerode prefixes the engine's message with `(HTTP code 500) server error - `.
  return text.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}
