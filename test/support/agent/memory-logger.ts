import { Logger, type LogFields } from '../../../application/ports/logger.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

/** A logger that keeps lines in memory, for assertions; children share the parent's list. */
export class MemoryLogger extends Logger {
  constructor(
    readonly entries: LogEntry[] = [],
    private readonly bindings: LogFields = {},
  ) {
    super();
  }

  debug(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'debug', message, fields: { ...this.bindings, ...fields } });
  }
  info(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'info', message, fields: { ...this.bindings, ...fields } });
  }
  warn(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'warn', message, fields: { ...this.bindings, ...fields } });
  }
  error(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'error', message, fields: { ...this.bindings, ...fields } });
  }
  child(bindings: LogFields): Logger {
    return new MemoryLogger(this.entries, { ...this.bindings, ...bindings });
  }
}
