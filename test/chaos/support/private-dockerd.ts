import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerPing } from '../../support/services.js';

/**
 * A Docker daemon of our own (`dockerd` with its own data root, exec root, pid file and socket; no
 * bridge, no iptables: nothing touches the host's network), so a scenario can kill and restart it
 * without disturbing the system's daemon other tests use. Short paths: unix socket paths are limited
 * to 108 bytes, and containerd's sockets live under the exec root.
 */
export class PrivateDockerd {
  readonly dir = mkdtempSync('/tmp/epd-');
  readonly socket = join(this.dir, 'docker.sock');
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor() {
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
  }

  /** Starts dockerd and waits until `GET /_ping` answers on its socket. */
  async start(): Promise<void> {
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    const child = spawn(
      'dockerd',
      [
        '--config-file', join(this.dir, 'daemon.json'),
        '--bridge=none', '--iptables=false', '--ip6tables=false',
        '--storage-driver=vfs',
        '--data-root', join(this.dir, 'root'),
        '--exec-root', join(this.dir, 'exec'),
        '--pidfile', join(this.dir, 'dockerd.pid'),
        '-H', `unix://${this.socket}`,
      ],
      { stdio: ['ignore', log, log], detached: true },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    while (!(await dockerPing(this.socket, 1000))) {
      if (child.exitCode !== null) throw new Error(`private dockerd exited (${child.exitCode}):\n${this.log()}`);
      if (Date.now() > deadline) throw new Error(`private dockerd did not answer within 60 s:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** `SIGKILL` (a crash: containerd's shims keep the containers until the daemon comes back) or `SIGTERM` (a clean stop). */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    process.kill(child.pid!, signal);
    await this.exited;
    this.child = undefined;
  }

  /** Processes whose command line names this daemon's directory (its containerd and shims). */
  private processesNamingDir(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(this.dir)) pids.push(Number(entry));
      } catch {
        // gone
      }
    }
    return pids;
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'dockerd.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  /** Stops the daemon, kills what its containerd left running, removes its directories. */
  async destroy(): Promise<void> {
    await this.stop('SIGTERM');
    // Containers a killed daemon left behind: their shims name our exec root; their processes are the shims' children.
    for (const pid of this.processesNamingDir()) {
      for (const child of childrenOf(pid)) killQuietly(child);
      killQuietly(pid);
    }
    // Network namespaces and the like are mounts under the exec root: unmount them first (lazily).
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${this.dir}/`));
    for (const mount of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', mount]);
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (error) {
      process.stderr.write(`private dockerd: ${this.dir} not removed: ${String(error)}\n`);
    }
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number);
  } catch {
    return [];
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
