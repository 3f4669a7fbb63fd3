import { Logger, type LogFields } from '../../application/ports/logger.js';
import { redactSecrets } from '../logging/redact-secrets.js';

/**
 * A logger for adapters that diagnostics drive directly (the upstream probe of `check`, the Docker
 * runtime of `support-bundle`): nothing is printed; warnings and errors are kept, redacted, so a
 * failure can be explained in one line.
 */
export class CollectingLogger extends Logger {
  readonly warnings: string[] = [];
  debug(): void {}
  info(message: string, fields?: LogFields): void {
    // The upstream adapter says "not reachable" at info level: that is the reason a probe wants.
    if (/not reachable/.test(message)) this.collect(message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.collect(message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.collect(message, fields);
  }
  child(): Logger {
    return this;
  }
  private collect(message: string, fields: LogFields | undefined): void {
    const error = fields?.['error'];
    this.warnings.push(redactSecrets(typeof error === 'string' && error !== '' ? `${message}: ${error}` : message));
  }
}
