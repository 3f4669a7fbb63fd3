import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogLine } from '../../application/ports/module-runtime.js';

/**
 * A module's captured output as JSON lines (`{"log","stream","time"}`, like Docker's json-file
 * driver) in `<name>.log`, rotated by size to `<name>.log.1`, `.log.2`, ... Writes are synchronous
 * so a reader always sees every line already captured, in order.
 */
export class RotatingLog {
  private fd: number | undefined;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {}

  append(line: LogLine): void {
    const text = `${JSON.stringify({ log: line.text, stream: line.stream, time: new Date(line.time).toISOString() })}\n`;
    const bytes = Buffer.byteLength(text);
    if (this.fd === undefined) this.open();
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      this.rotate();
    }
    writeSync(this.fd as number, text);
    this.size += bytes;
  }

  /** Files oldest first. */
  files(): string[] {
    const out: string[] = [];
    for (let i = this.maxFiles - 1; i >= 1; i--) out.push(`${this.path}.${i}`);
    out.push(this.path);
    return out.filter((f) => existsSync(f));
  }

  /** Every captured line still on disk, oldest first. */
  readAll(): LogLine[] {
    const lines: LogLine[] = [];
    for (const file of this.files()) {
      let content: string;
      try {
        content = readFileSync(file, 'utf8');
      } catch {
        continue; // rotated away between listing and reading
      }
      for (const raw of content.split('\n')) {
        if (raw === '') continue;
        try {
          const entry = JSON.parse(raw) as { log: string; stream: 'stdout' | 'stderr'; time: string };
          lines.push({ text: entry.log, stream: entry.stream, time: Date.parse(entry.time) });
        } catch {
          // a torn last line after a crash of the agent: skip it
        }
      }
    }
    return lines;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Closes and deletes every file. */
  delete(): void {
    this.close();
    for (const file of this.files()) rmSync(file, { force: true });
  }

  private open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'a');
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    rmSync(`${this.path}.${this.maxFiles - 1}`, { force: true });
    for (let i = this.maxFiles - 2; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    if (this.maxFiles > 1) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.fd = openSync(this.path, 'a');
    this.size = 0;
  }
}

/** Longest line kept whole; longer output is split, like Docker's 16 KiB log chunks. */
export const MAX_LINE_LENGTH = 16 * 1024;

/** Turns a byte stream into lines; a trailing partial line is kept until `flush`. */
export class LineSplitter {
  private pending = '';

  constructor(private readonly emit: (text: string) => void) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    const parts = text.split('\n');
    this.pending = parts.pop() ?? '';
    for (const part of parts) this.emitLine(part.endsWith('\r') ? part.slice(0, -1) : part);
    while (this.pending.length > MAX_LINE_LENGTH) {
      this.emit(this.pending.slice(0, MAX_LINE_LENGTH));
      this.pending = this.pending.slice(MAX_LINE_LENGTH);
    }
  }

  flush(): void {
    if (this.pending !== '') this.emitLine(this.pending);
    this.pending = '';
  }

  private emitLine(line: string): void {
    for (let i = 0; i < line.length || i === 0; i += MAX_LINE_LENGTH) {
      this.emit(line.slice(i, i + MAX_LINE_LENGTH));
      if (line.length === 0) break;
    }
  }
}
