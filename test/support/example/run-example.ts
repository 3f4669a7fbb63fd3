import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../free-port.js';

export const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** No inherited EDGEPORT_* variable; `node` on PATH is this test's node (process manifests run `node`). */
export function exampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) env[k] = v;
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`, EDGEPORT_LOG_FORMAT: 'json', ...extra };
}

/** Every listener of `edgeport run` on 127.0.0.1 and a free port, as `EDGEPORT_*` variables. */
export async function loopbackListenerEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const listener of ['HUB_MQTT', 'HUB_AMQP', 'HUB_HTTPS', 'METRICS']) {
    env[`EDGEPORT_${listener}_HOST`] = '127.0.0.1';
    env[`EDGEPORT_${listener}_PORT`] = String(await freePort());
  }
  return env;
}

/**
 * A temp data dir, free MQTT, AMQP, HTTPS and metrics ports on 127.0.0.1, and the environment overriding them
 * (plus `extra`) for `edgeport run` of an example configuration.
 */
export async function exampleSetup(prefix: string, extra: Record<string, string> = {}): Promise<{ dataDir: string; metricsPort: number; env: NodeJS.ProcessEnv }> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const listeners = await loopbackListenerEnv();
  const env = exampleEnv({ EDGEPORT_DATA_DIR: dataDir, ...listeners, ...extra });
  return { dataDir, metricsPort: Number(listeners['EDGEPORT_METRICS_PORT']), env };
}

/** Polls `probe` every 250 ms until it returns a value; the error carries `context()`. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, context: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `edgeport run --config <config>` with JSON logs collected line by line. */
export interface ExampleRun {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  /** The exit code once exited. */
  exitCode(): number | null | undefined;
  /** Exit code, stderr and log messages, for assertion messages. */
  context(): string;
  /** Waits for the `edgeport running` line (fails if it exits first). */
  running(timeoutMs?: number): Promise<void>;
  /** `edgeport <args> --config <config>` with the same environment. */
  cli(args: string[]): { status: number | null; stdout: string; stderr: string };
  /** SIGINT, then SIGKILL after 10 s, if still running. */
  stop(): Promise<void>;
}

export function runExample(config: string, env: NodeJS.ProcessEnv): ExampleRun {
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>);
      buffer = buffer.slice(newline + 1);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  const context = (): string => `exit: ${String(code)}\nstderr: ${stderr}\nlog:\n${lines.map((l) => String(l['msg'])).join('\n')}`;
  return {
    child,
    lines,
    exited,
    exitCode: () => code,
    context,
    async running(timeoutMs = 30_000) {
      await eventually(
        'edgeport running',
        timeoutMs,
        () => (code !== undefined ? Promise.reject(new Error(`exited early\n${context()}`)) : lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined),
        context,
      );
    },
    cli(args) {
      const result = spawnSync(process.execPath, [BIN, ...args, '--config', config], { cwd: REPO, env, encoding: 'utf8', timeout: 10_000 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    async stop() {
      if (code !== undefined) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `edgeport list --json` rows when both modules are running, else undefined. */
export function modulesRunning(run: ExampleRun, names: readonly string[]): Array<{ name: string; status: string; config: string }> | undefined {
  const list = run.cli(['list', '--json']);
  if (list.status !== 0) return undefined;
  const rows = JSON.parse(list.stdout) as Array<{ name: string; status: string; config: string }>;
  return names.every((name) => rows.some((r) => r.name === name && r.status === 'running')) ? rows : undefined;
}

/** The count of messages the hub delivered to `endpoint` (`edgeport_messages_sent_total`), from /metrics. */
export async function deliveredTo(metricsPort: number, endpoint: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const match = new RegExp(`^edgeport_messages_sent_total\\{[^}]*endpoint="${endpoint.replace(/[/]/g, '\\/')}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]);
}

/**
 * Waits until the hub has delivered messages to `endpoint` (metrics) and logged a traffic report
 * line naming it; returns the count and the report message.
 */
export async function waitForFlow(run: ExampleRun, metricsPort: number, endpoint: string, timeoutMs = 30_000): Promise<{ delivered: number; report: string }> {
  const delivered = await eventually(
    `messages delivered to ${endpoint} in /metrics`,
    timeoutMs,
    async () => {
      const count = await deliveredTo(metricsPort, endpoint);
      return count > 0 ? count : undefined;
    },
    run.context,
  );
  const pattern = new RegExp(`delivered .*${endpoint.replace(/[/]/g, '\\/')} \\d+`);
  const line = await eventually('a traffic report line', 20_000, () => run.lines.find((l) => l['component'] === 'traffic' && pattern.test(String(l['msg']))), run.context);
  return { delivered, report: String(line['msg']) };
}

/** Kills module process groups the runtime left behind (pid files), should the runtime have been killed. */
export function killLeftoverModules(dataDir: string): void {
  let files: string[] = [];
  try {
    files = readdirSync(join(dataDir, 'modules')).filter((f) => f.endsWith('.pid'));
  } catch {
    return;
  }
  for (const file of files) {
    try {
      const { pid } = JSON.parse(readFileSync(join(dataDir, 'modules', file), 'utf8')) as { pid: number };
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
