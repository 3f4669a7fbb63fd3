import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EDGEPORT_BIN = fileURLToPath(new URL('../../infrastructure/cli/bin.js', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `USER_HZ` of /proc/<pid>/stat: 100 on every Linux port Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** `edgeport run` as a child process with JSON logs collected line by line. */
export class RuntimeProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  stderr = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  /** `extraNodeArgs`: node flags before the script, after RUNTIME_NODE_ARGS (e.g. the launcher's V8 flags). */
  constructor(readonly dataDir: string, env: Record<string, string>, args: string[] = [], extraNodeArgs: string[] = []) {
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) base[k] = v;
    // RUNTIME_NODE_ARGS: node flags for the runtime (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a bench).
    const nodeArgs = (process.env['RUNTIME_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    this.child = spawn(process.execPath, [...nodeArgs, ...extraNodeArgs, EDGEPORT_BIN, 'run', ...args], {
      cwd: REPO_ROOT,
      env: { ...base, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`, EDGEPORT_LOG_FORMAT: 'json', EDGEPORT_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then((code) => (this.exitCode = code));
  }

  /** The runtime's process id (memory readings from /proc, signals). */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * CPU time (user + system, all threads) the runtime process has used so far in ms, from
   * `/proc/<pid>/stat`; undefined where there is no procfs or the process is gone.
   */
  cpuMs(): number | undefined {
    try {
      const stat = readFileSync(`/proc/${String(this.child.pid)}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
    } catch {
      return undefined;
    }
  }

  /** Resident set size of the runtime process in bytes (`VmRSS` of /proc/<pid>/status); undefined without procfs. */
  rssBytes(): number | undefined {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${String(this.child.pid)}/status`, 'utf8'));
      return match === null ? undefined : Number(match[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  /** The log so far, for failure messages. */
  context(): string {
    return `exit: ${String(this.exitCode)}\nstderr: ${this.stderr}\nlog:\n${this.lines.map((l) => `${String(l['component'] ?? '')} ${String(l['msg'])}`).join('\n')}`;
  }

  /** Polls `probe` every 100 ms until it returns a value; fails with the log after `timeoutMs` or if the runtime exits. */
  async until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitCode !== undefined) throw new Error(`edgeport exited while waiting for ${what}\n${this.context()}`);
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.context()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGINT, then SIGKILL after 10 s; kills module process groups left behind. */
  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    let files: string[] = [];
    try {
      files = readdirSync(join(this.dataDir, 'modules')).filter((f) => f.endsWith('.pid'));
    } catch {
      files = [];
    }
    for (const file of files) {
      try {
        const { pid } = JSON.parse(readFileSync(join(this.dataDir, 'modules', file), 'utf8')) as { pid: number };
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    return this.exitCode ?? null;
  }
}
