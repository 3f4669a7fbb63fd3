import type { LogLine } from '../../application/ports/module-runtime.js';

/**
 * Parses `docker logs` output into lines. Docker multiplexes stdout and stderr into frames
 * (8-byte header: stream type, 3 zero bytes, big-endian payload length) unless the container has a
 * TTY, in which case the output is raw (all `stdout`). With `timestamps: true` every line starts
 * with an RFC 3339 time with nanoseconds and a space.
 */
export class DockerLogDemux {
  private frames: Buffer = Buffer.alloc(0);
  private readonly partial: Record<LogLine['stream'], string> = { stdout: '', stderr: '' };

  constructor(
    private readonly multiplexed: boolean,
    private readonly emit: (line: LogLine) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.multiplexed) {
      this.text('stdout', chunk.toString('utf8'));
      return;
    }
    this.frames = this.frames.length === 0 ? chunk : Buffer.concat([this.frames, chunk]);
    while (this.frames.length >= 8) {
      const length = this.frames.readUInt32BE(4);
      if (this.frames.length < 8 + length) break;
      const stream = this.frames[0] === 2 ? 'stderr' : 'stdout';
      this.text(stream, this.frames.subarray(8, 8 + length).toString('utf8'));
      this.frames = this.frames.subarray(8 + length);
    }
  }

  /** Emits what is left without a trailing newline. */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.line(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
  }

  private text(stream: LogLine['stream'], text: string): void {
    const parts = (this.partial[stream] + text).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const part of parts) this.line(stream, part.endsWith('\r') ? part.slice(0, -1) : part);
  }

  private line(stream: LogLine['stream'], raw: string): void {
    const space = raw.indexOf(' ');
    const stamp = space > 0 ? parseDockerTime(raw.slice(0, space)) : undefined;
    if (stamp === undefined) this.emit({ time: 0, stream, text: raw });
    else this.emit({ time: stamp, stream, text: raw.slice(space + 1) });
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
