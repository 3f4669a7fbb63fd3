/** Longest module log line kept whole; longer output is split, like Docker's 16 KiB log chunks. */
export const MAX_LOG_LINE_LENGTH = 16 * 1024;

/**
 * Turns a module's output text into log lines: split at `\n` (a `\r` before it dropped), a line
 * longer than `maxLength` split into pieces, a trailing partial line kept until `flush`. Pure and
 * synchronous: every complete line is emitted before `push` returns, so a reader that captured the
 * output so far sees every line of it.
 */
export class LineSplitter {
  private pending = '';

  constructor(
    private readonly emit: (text: string) => void,
    private readonly maxLength = MAX_LOG_LINE_LENGTH,
  ) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    const parts = text.split('\n');
    this.pending = parts.pop() ?? '';
    for (const part of parts) this.emitLine(part.endsWith('\r') ? part.slice(0, -1) : part);
    while (this.pending.length > this.maxLength) {
      this.emit(this.pending.slice(0, this.maxLength));
      this.pending = this.pending.slice(this.maxLength);
    }
  }

  /** Emits the partial line left, if any (the output ended without a newline). */
  flush(): void {
    if (this.pending !== '') this.emitLine(this.pending);
    this.pending = '';
  }

  private emitLine(line: string): void {
    if (line.length <= this.maxLength) {
      this.emit(line);
      return;
    }
    for (let i = 0; i < line.length; i += this.maxLength) this.emit(line.slice(i, i + this.maxLength));
  }
}
