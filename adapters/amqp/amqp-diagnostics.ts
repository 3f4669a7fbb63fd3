/** An error's message for logs (never a stack: log lines stay one line). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An AMQP error (condition and description), an `Error` or anything else, as one log-friendly string. */
export function describeError(error: unknown): string {
  if (error === undefined || error === null) return 'none';
  const e = error as { condition?: string; description?: string; message?: string };
  return [e.condition, e.description ?? e.message].filter((x) => x !== undefined).join(': ') || String(error);
}
