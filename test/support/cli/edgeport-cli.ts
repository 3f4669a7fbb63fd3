import { spawn } from 'node:child_process';
import { EDGEPORT_BIN, REPO_ROOT } from '../runtime-process.js';
import { freePort } from '../free-port.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without any inherited `EDGEPORT_*` variable, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) env[k] = v;
  return { ...env, ...extra };
}

/**
 * `edgeport <args>` as a child process, without blocking this one (a runtime or SDK clients in this
 * process keep running); killed after `timeoutMs`.
 */
export function edgeportCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EDGEPORT_BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** `EDGEPORT_*` settings that put every listener of `edgeport run` on 127.0.0.1 and a free port. */
export async function loopbackListeners(): Promise<Record<`EDGEPORT_${'HUB_MQTT' | 'HUB_AMQP' | 'HUB_HTTPS' | 'METRICS'}_${'HOST' | 'PORT'}`, string>> {
  return {
    EDGEPORT_HUB_MQTT_HOST: '127.0.0.1',
    EDGEPORT_HUB_MQTT_PORT: String(await freePort()),
    EDGEPORT_HUB_AMQP_HOST: '127.0.0.1',
    EDGEPORT_HUB_AMQP_PORT: String(await freePort()),
    EDGEPORT_HUB_HTTPS_HOST: '127.0.0.1',
    EDGEPORT_HUB_HTTPS_PORT: String(await freePort()),
    EDGEPORT_METRICS_HOST: '127.0.0.1',
    EDGEPORT_METRICS_PORT: String(await freePort()),
  };
}
