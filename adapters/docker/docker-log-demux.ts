import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import Modem from 'docker-modem';
import type { LogLine } from '../../application/ports/module-runtime.js';
import { LineSplitter } from '../../domain/modules/log-lines.js';

/**
 * Docker's demultiplexer (docker-modem's `demuxStream`, the one dockerode exposes as
 * `docker.modem.demuxStream`): it reads the 8-byte frame headers and writes each payload to the
 * stdout or stderr output. It uses no modem state, only the source's `data` events and the outputs'
 * `write`, all synchronously.
 */
const demuxStream: (source: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream) => void = Modem.prototype.demuxStream;

/** One output stream of a container: bytes (UTF-8 across chunk boundaries) to timestamped lines. */
class LogStream {
  private readonly decoder = new StringDecoder('utf8');
  // Docker already cuts its log lines at 16 KiB (before the timestamp): keep what it sends whole.
  private readonly lines: LineSplitter;

  constructor(stream: LogLine['stream'], emit: (line: LogLine) => void) {
    this.lines = new LineSplitter((raw) => emit(timestamped(stream, raw)), Number.POSITIVE_INFINITY);
  }

  write(chunk: Buffer): boolean {
    this.lines.push(this.decoder.write(chunk));
    return true;
  }

  end(): void {
    this.lines.push(this.decoder.end());
    this.lines.flush();
  }
}

/** A line of `docker logs --timestamps`: the RFC 3339 time before the first space, then the text. */
function timestamped(stream: LogLine['stream'], raw: string): LogLine {
  const space = raw.indexOf(' ');
  const time = space > 0 ? parseDockerTime(raw.slice(0, space)) : undefined;
  return time === undefined ? { time: 0, stream, text: raw } : { time, stream, text: raw.slice(space + 1) };
}

/**
 * Parses `docker logs` output into lines. Docker multiplexes stdout and stderr into frames
 * (8-byte header: stream type, 3 zero bytes, big-endian payload length) unless the container has a
 * TTY, in which case the output is raw (all `stdout`). With `timestamps: true` every line starts
 * with an RFC 3339 time with nanoseconds and a space. `push` emits every complete line before it
 * returns; `flush` emits what is left without a trailing newline.
 */
export class DockerLogDemux {
  // The demultiplexer listens to a stream's `data` events only: an emitter we feed keeps it synchronous.
  private readonly source = new EventEmitter();
  private readonly stdout: LogStream;
  private readonly stderr: LogStream;

  constructor(multiplexed: boolean, emit: (line: LogLine) => void) {
    this.stdout = new LogStream('stdout', emit);
    this.stderr = new LogStream('stderr', emit);
    // The outputs implement only the `write` that the demultiplexer calls.
    if (multiplexed) demuxStream(this.source as NodeJS.ReadableStream, this.stdout as unknown as NodeJS.WritableStream, this.stderr as unknown as NodeJS.WritableStream);
    else this.source.on('data', (chunk: Buffer) => this.stdout.write(chunk));
  }

  push(chunk: Buffer): void {
    this.source.emit('data', chunk);
  }

  /** Emits what is left without a trailing newline. */
  flush(): void {
    this.stdout.end();
    this.stderr.end();
  }
}

/**
 * Epoch ms of a Docker time (`2026-11-26T08:00:00.123456789Z`); `undefined` for Docker's zero
 * time (`0001-01-01T00:00:00Z`, "never") or text that is not a time.
 */
export function parseDockerTime(text: string | undefined): number | undefined {
  if (text === undefined || text === '' || text.startsWith('0001-01-01')) return undefined;
  // Date.parse keeps milliseconds only; trim the extra fraction digits it may reject.
  const trimmed = text.replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}
