import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The runtime's own log file (`<dataDir>/logs/edgeport.log`), kept for `edgeport support-bundle`:
 * the same redacted JSON lines as the console, written synchronously (a crash loses nothing), and
 * bounded: past `maxBytes` the file becomes `edgeport.log.1` (replacing the previous one) and a new
 * file starts, so at most twice `maxBytes` is kept. Mode 0600: logs may name devices and hosts.
 *
 * A write that fails (a full disk: ENOSPC) drops the line instead of throwing into whatever code
 * was logging (the console still gets every line); it says so once on stderr, and the first line
 * written again is preceded by one counting the lines dropped.
 */
export class RotatingLogFile {
  private fd: number;
  private size: number;
  private dropped = 0;
  private dropReason = '';
  /** The last write stopped mid-line: the next one starts with a newline. */
  private partial = false;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(line: string): void {
    try {
      if (this.dropped > 0) this.append(`${JSON.stringify({ level: 40, time: Date.now(), msg: `log file: ${this.dropped} lines dropped (${this.dropReason})` })}\n`);
      this.dropped = 0;
      this.append(line);
    } catch (error) {
      if (this.dropped === 0) {
        this.dropReason = (error as NodeJS.ErrnoException).code ?? String(error);
        process.stderr.write(`edgeport: cannot write the log file ${this.path} (${this.dropReason}); its lines are dropped until it can be written again\n`);
      }
      this.dropped++;
    }
  }

  private append(text: string): void {
    const line = this.partial ? `\n${text}` : text;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    const written = writeSync(this.fd, line);
    this.size += written;
    this.partial = written > 0 ? written < bytes : this.partial;
    if (written < bytes) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = 0;
    this.partial = false;
  }
}
