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
