import { spawnSync } from 'node:child_process';
import { BIN, REPO, exampleEnv, loopbackListenerEnv } from '../example/run-example.js';

/** One check of `edgeport check --output json`. */
export interface JsonCheck {
  description: string;
  result: 'Ok' | 'Warning' | 'Error' | 'Skipped';
  details: string;
  fix?: string;
}

export interface CheckRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Environment for `edgeport check`/`run` against `dataDir` with every listener on a free loopback
 * port (nothing else on this machine is disturbed or disturbs it) and a store limit that fits any
 * test machine's disk.
 */
export async function isolatedEnv(dataDir: string, extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return exampleEnv({ EDGEPORT_DATA_DIR: dataDir, ...(await loopbackListenerEnv()), EDGEPORT_HUB_STORE_AND_FORWARD_MAX_BYTES: String(50 * 1024 * 1024), ...extra });
}

/** `edgeport check <args>` (from the repository root, 60 s at most). */
export function runCheck(args: readonly string[], env: NodeJS.ProcessEnv): CheckRun {
  const result = spawnSync(process.execPath, [BIN, 'check', ...args], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `edgeport check --output json <args>`: the exit code and the checks by id. */
export function runCheckJson(args: readonly string[], env: NodeJS.ProcessEnv): { status: number | null; checks: Record<string, JsonCheck>; raw: string } {
  const run = runCheck([...args, '--output', 'json'], env);
  let checks: Record<string, JsonCheck>;
  try {
    checks = (JSON.parse(run.stdout) as { checks: Record<string, JsonCheck> }).checks;
  } catch {
    throw new Error(`edgeport check --output json did not print JSON (exit ${String(run.status)}):\n${run.stdout}\n${run.stderr}`);
  }
  return { status: run.status, checks, raw: run.stdout };
}

/** The ids of the checks with `result`. */
export function idsWith(checks: Record<string, JsonCheck>, result: JsonCheck['result']): string[] {
  return Object.entries(checks)
    .filter(([, check]) => check.result === result)
    .map(([id]) => id);
}
