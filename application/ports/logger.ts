export type LogFields = Record<string, unknown>;

/**
 * Structured logging as the application sees it. The adapter behind it writes JSON lines and
 * redacts secrets (keys, SAS tokens, passwords), so callers may pass whole objects safely.
 */
export abstract class Logger {
  abstract debug(message: string, fields?: LogFields): void;
  abstract info(message: string, fields?: LogFields): void;
  abstract warn(message: string, fields?: LogFields): void;
  abstract error(message: string, fields?: LogFields): void;
  /** A logger whose every line carries `bindings` (for example `{ component: 'mqtt' }`). */
  abstract child(bindings: LogFields): Logger;
}
