import { Logger, type LogFields } from '../../application/ports/logger.js';

/**
 * The `Logger` port for CLI commands that run adapters outside the runtime (`identity ...`): plain
 * lines on stderr (`warning: ...`), so stdout keeps only the command's result. Fields are dropped:
 * the messages are written to stand alone, and never carry secrets.
 */
export class ConsoleLogger extends Logger {
  constructor(private readonly err: { write(text: string): unknown } = process.stderr) {
    super();
  }

  debug(): void {}
  info(message: string): void {
    this.err.write(`${message}\n`);
  }
  warn(message: string): void {
    this.err.write(`warning: ${message}\n`);
  }
  error(message: string): void {
    this.err.write(`error: ${message}\n`);
  }
  child(_bindings: LogFields): Logger {
    return this;
  }
}
