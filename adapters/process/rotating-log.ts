import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LogLine } from '../../application/ports/module-runtime.js';

/**
 * A module's captured output as JSON lines (`{"log","stream","time"}`, like Docker's json-file
 * driver) in `<name>.log`, rotated by size to `<name>.log.1`, `.log.2`, ... Writes are synchronous
 * so a reader always sees every line already captured, in order, and every file stays within
 * `maxBytes` (but for one line longer than that) whatever the burst.
 *
 * Hand-written on purpose (docs/libraries.md): `rotating-file-stream` writes asynchronously (none of
 * 300 lines was on disk when the writes returned, so `logs` would miss lines that followers already
 * got) and rotates between its buffered writes (a 42 KB burst stayed in one file capped at 8 KiB);
 * `pino-roll` in sync mode has the lines on disk but also rotates only after the burst, so neither
 * keeps the per-module disk bound.
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
    return rotatedFiles(this.path);
  }

  /** Every captured line still on disk, oldest first. */
  readAll(): LogLine[] {
    return readRotatedLog(this.path);
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

/** `path` and its rotated files (`path.1`, `path.2`, ... whatever is on disk), oldest first. */
export function rotatedFiles(path: string): string[] {
  const name = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(dirname(path));
  } catch {
    return [];
  }
  const rotated = entries
    .map((entry) => (entry.startsWith(`${name}.`) ? Number(entry.slice(name.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n >= 1)
    .sort((a, b) => b - a)
    .map((n) => join(dirname(path), `${name}.${n}`));
  return existsSync(path) ? [...rotated, path] : rotated;
}

/**
 * Every line of a module's log files, oldest first; also while no runtime runs (`edgeport logs` on a
 * stopped runtime reads them directly). A torn last line (the runtime was killed mid-write) is skipped.
 */
export function readRotatedLog(path: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const file of rotatedFiles(path)) {
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

/** The process runtime splits module output with the domain's line splitter (one implementation for every runtime). */
export { LineSplitter } from '../../domain/modules/log-lines.js';
