/**
 * CLI start-up benchmark: `npm run bench:cli [-- --runs=10]`. Each command runs `--runs` times (after
 * one warm-up) as a fresh `node dist/infrastructure/cli/bin.js ...` process, in an empty temporary
 * directory with `EDGEPORT_DATA_DIR` there (so `list` finds no runtime and exits 1 with its error),
 * beside bare `node -e 0` as the baseline. Prints the median and the fastest wall time per command;
 * the last line is `cli: version/node = R (version M ms, node N ms)`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 10);
const BIN = fileURLToPath(new URL('../infrastructure/cli/bin.js', import.meta.url));
const COMMANDS: Array<[string, string[], number]> = [
  ['node -e 0', ['-e', '0'], 0],
  ['version', [BIN, 'version'], 0],
  ['run --help', [BIN, 'run', '--help'], 0],
  ['config check', [BIN, 'config', 'check'], 0],
  ['list (no runtime)', [BIN, 'list'], 1],
];

const dir = mkdtempSync(join(tmpdir(), 'edgeport-bench-cli-'));
const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], EDGEPORT_DATA_DIR: dir };
const medians = new Map<string, number>();
try {
  for (const [name, args, status] of COMMANDS) {
    const times: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const started = performance.now();
      const result = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8' });
      const ms = performance.now() - started;
      if (result.status !== status) throw new Error(`${name} exited ${result.status}: ${result.stderr}`);
      if (i > 0) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    medians.set(name, median);
    console.log(`${name.padEnd(18)} median ${median.toFixed(0).padStart(4)} ms   min ${(times[0] as number).toFixed(0).padStart(4)} ms   (${RUNS} runs)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const node = medians.get('node -e 0') as number;
const version = medians.get('version') as number;
console.log(`cli: version/node = ${(version / node).toFixed(2)} (version ${version.toFixed(0)} ms, node ${node.toFixed(0)} ms)`);
