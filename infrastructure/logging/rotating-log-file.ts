import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The runtime's own log file (`<dataDir>/logs/edgeport.log`), kept for `edgeport support-bundle`:
 * the same redacted JSON lines as the console, written synchronously (a crash loses nothing), and
 * bounded: past `maxBytes` the file becomes `edgeport.log.1` (replacing the previous one) and a new
 * file starts, so at most twice `maxBytes` is kept. Mode 0600: logs may name devices and hosts.
 */
export class RotatingLogFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    writeSync(this.fd, line);
    this.size += bytes;
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = 0;
  }
}
