import { pino, type DestinationStream, type Logger as Pino, type LoggerOptions } from 'pino';
import { createRequire } from 'node:module';
import type { prettyFactory as PrettyFactory } from 'pino-pretty';
import { Logger, type LogFields } from '../../application/ports/logger.js';
import { REDACTED, SECRET_FIELD_NAMES, redactSecrets, scrubFields, scrubValue } from './redact-secrets.js';
import { RotatingLogFile } from './rotating-log-file.js';

/**
 * Depth of the pino `redact` paths the logger uses: top-level names only. Wildcard paths are costly
 * in pino's redaction (measured per JSON line with 19 names: 4.6 µs without redact, 34 µs with
 * `*.name` paths, 214 µs down to depth 4), while the scrubbing step in `formatters.log` already
 * replaces secret names at ANY depth for about 2.5 µs. So nested names are covered by the scrubber,
 * and pino's `redact` is the independent second net for the top level. See docs/logging.md.
 */
export const REDACT_PATH_DEPTH = 0;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'pretty' | 'auto';

export interface CreateLoggerOptions {
  level: LogLevel;
  /** `auto`: pretty when the destination (stdout by default) is a TTY, JSON lines otherwise. */
  format: LogFormat;
  /** Where lines go; stdout (synchronously, so nothing is lost on a crash) when omitted. */
  destination?: NodeJS.WritableStream;
  /** Added to every line as `name`. */
  name?: string;
  /** Also write every line (JSON, redacted) to this size-bounded file (`edgeport run`'s log file). */
  file?: { path: string; maxBytes: number };
}

/**
 * pino `redact` paths: every secret field name at the top level and, with `maxDepth` > 0, that many
 * levels down (`password`, `*.password`, `*.*.password`, ...).
 */
export function redactPaths(maxDepth = REDACT_PATH_DEPTH): string[] {
  const paths: string[] = [];
  for (const name of SECRET_FIELD_NAMES) {
    for (let depth = 0; depth <= maxDepth; depth++) paths.push([...Array<string>(depth).fill('*'), name].join('.'));
  }
  return paths;
}

/** The application's {@link Logger} port on top of pino. Every line is scrubbed of secrets. */
export class PinoLogger extends Logger {
  constructor(private readonly pinoLogger: Pino) {
    super();
  }

  /** The underlying pino instance (same redaction), for libraries that take a pino logger. */
  get pino(): Pino {
    return this.pinoLogger;
  }

  trace(message: string, fields?: LogFields): void {
    this.write('trace', message, fields);
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  fatal(message: string, fields?: LogFields): void {
    this.write('fatal', message, fields);
  }

  child(bindings: LogFields): PinoLogger {
    // Bindings are scrubbed here once: pino writes them pre-serialized into every later line.
    return new PinoLogger(this.pinoLogger.child(scrubFields(bindings)));
  }

  /** True when a line at `level` would be written. */
  isLevelEnabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return this.pinoLogger.isLevelEnabled(level);
  }

  private write(level: Exclude<LogLevel, 'silent'>, message: string, fields: LogFields | undefined): void {
    // Skip scrubbing entirely for filtered-out levels: debug logging costs nothing when off.
    if (!this.pinoLogger.isLevelEnabled(level)) return;
    // Scrubbing happens in the pino hooks/formatters below, so direct pino use is covered too.
    if (fields === undefined) this.pinoLogger[level](message);
    else this.pinoLogger[level](fields, message);
  }
}

function isTty(stream: NodeJS.WritableStream | undefined): boolean {
  const target = stream ?? process.stdout;
  return (target as { isTTY?: boolean }).isTTY === true;
}

/** A synchronous, in-process pino-pretty stream: no worker thread, so tests can capture it. */
function prettyStream(destination: NodeJS.WritableStream, colorize: boolean): DestinationStream {
  // Loaded only for pretty output (a service writing JSON lines never pays for it: memory, start-up).
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as { prettyFactory: typeof PrettyFactory };
  const prettify = prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  return {
    write(line: string): void {
      destination.write(prettify(line));
    },
  };
}

/** Builds the runtime's logger: pino, secrets redacted, JSON lines or human-readable text. */
export function createLogger(options: CreateLoggerOptions): PinoLogger {
  const tty = isTty(options.destination);
  const pretty = options.format === 'pretty' || (options.format === 'auto' && tty);

  const pinoOptions: LoggerOptions = {
    level: options.level,
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    redact: { paths: redactPaths(), censor: REDACTED },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => scrubFields(bindings),
      log: (object) => scrubFields(object),
    },
    serializers: {
      // Errors are already plain (scrubValue serializes them); this catches anything else.
      err: (value: unknown) => scrubValue(value),
    },
    hooks: {
      // Scrub the message text (and any printf-style arguments) before pino formats it.
      logMethod(args, method) {
        const first: unknown = args[0];
        // `pino.error(err)` would take the message from `err.message` unscrubbed: make it explicit.
        const normalized: unknown[] =
          first instanceof Error && typeof args[1] !== 'string' ? [{ err: first }, first.message] : args;
        const scrubbed = normalized.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  if (options.name !== undefined) pinoOptions.name = options.name;

  const sink = options.destination ?? process.stdout;
  let stream: DestinationStream;
  if (pretty) stream = prettyStream(sink, tty);
  else if (options.destination !== undefined) stream = options.destination as DestinationStream;
  else stream = pino.destination({ dest: 1, sync: true });
  if (options.file !== undefined) {
    const file = new RotatingLogFile(options.file.path, options.file.maxBytes);
    // Levels are filtered by the logger itself: both destinations take every line it writes.
    stream = pino.multistream([{ stream, level: 'trace' }, { stream: file, level: 'trace' }]);
  }

  return new PinoLogger(pino(pinoOptions, stream));
}
