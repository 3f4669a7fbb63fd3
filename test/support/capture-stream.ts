import { Writable } from 'node:stream';

/** A writable stream that keeps everything written to it, for asserting on log output. */
export class CaptureStream extends Writable {
  private readonly chunks: string[] = [];

  constructor(readonly isTTY = false) {
    super({ decodeStrings: false });
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(typeof chunk === 'string' ? chunk : String(chunk));
    callback();
  }

  /** Everything written so far. */
  get text(): string {
    return this.chunks.join('');
  }

  /** The non-empty lines written so far. */
  get lines(): string[] {
    return this.text.split('\n').filter((line) => line.length > 0);
  }

  /** Each line parsed as JSON (throws if a line is not JSON). */
  get records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
