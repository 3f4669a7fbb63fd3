import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../support/free-port.js';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of our own (initdb into a temp dir, `pg_ctl` on a free loopback port), so a
 * scenario can stop and start it without touching the system's PostgreSQL. Runs the server
 * binaries as the `postgres` user when we are root (initdb refuses root).
 */
export class PrivatePostgres {
  readonly dir: string;
  readonly dataDir: string;
  port = 0;

  constructor(private readonly binDir: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'edgeport-chaos-pg-'));
    this.dataDir = join(this.dir, 'cluster');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private async pg(tool: string, args: string[]): Promise<string> {
    const command = join(this.binDir, tool);
    const asPostgres = process.getuid?.() === 0;
    const { stdout } = asPostgres ? await run('runuser', ['-u', 'postgres', '--', command, ...args], { cwd: this.dir }) : await run(command, args, { cwd: this.dir });
    return stdout;
  }

  async init(): Promise<void> {
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(this.dir, Number(stdout.trim()), Number(gid.trim()));
    }
    this.port = await freePort();
    await this.pg('initdb', ['-D', this.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on`;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', join(this.dir, 'server.log'), '-w', '-t', '60', 'start']);
  }

  /** `fast`: clients disconnected, clean shutdown; `immediate`: no checkpoint, crash recovery at the next start. */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
