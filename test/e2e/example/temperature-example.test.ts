import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/free-port.js';

const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const CONFIG = 'examples/temperature/edgeport.toml';

/** No inherited EDGEPORT_* variable; `node` on PATH is this test's node (the manifest runs `node`). */
function exampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) env[k] = v;
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`, EDGEPORT_LOG_FORMAT: 'json', ...extra };
}

async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, context: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Module process groups the runtime left behind (pid files), should the runtime have been killed. */
function killLeftoverModules(dataDir: string): void {
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

test('e2e: the temperature example (npm start\'s configuration) starts sensor and filter, routes sensor -> filter, logs counts, exits 0 on SIGINT', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-example-'));
  const metricsPort = await freePort();
  const env = exampleEnv({
    EDGEPORT_DATA_DIR: dataDir,
    EDGEPORT_HUB_MQTT_PORT: String(await freePort()),
    EDGEPORT_HUB_MQTT_HOST: '127.0.0.1',
    EDGEPORT_HUB_AMQP_PORT: String(await freePort()),
    EDGEPORT_HUB_AMQP_HOST: '127.0.0.1',
    EDGEPORT_METRICS_PORT: String(metricsPort),
    EDGEPORT_METRICS_HOST: '127.0.0.1',
    EDGEPORT_HUB_HTTPS_PORT: String(await freePort()),
    EDGEPORT_HUB_HTTPS_HOST: '127.0.0.1',
  });
  const child = spawn(process.execPath, [BIN, 'run', '--config', CONFIG], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const context = (): string => `exit: ${String(exitCode)}\nstderr: ${stderr}\nlog:\n${lines.map((l) => String(l['msg'])).join('\n')}`;
  const started = Date.now();
  try {
    await eventually('edgeport running', 30_000, () => (exitCode !== undefined ? Promise.reject(new Error(`exited early\n${context()}`)) : lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined), context);

    // Both modules run, as `edgeport list` reports them.
    const modules = await eventually(
      'sensor and filter running in edgeport list',
      30_000,
      () => {
        const list = spawnSync(process.execPath, [BIN, 'list', '--json', '--config', CONFIG], { cwd: REPO, env, encoding: 'utf8', timeout: 10_000 });
        if (list.status !== 0) return undefined;
        const rows = JSON.parse(list.stdout) as Array<{ name: string; status: string; config: string }>;
        const running = (name: string): boolean => rows.some((r) => r.name === name && r.status === 'running');
        return running('sensor') && running('filter') ? rows : undefined;
      },
      context,
    );
    assert.match(modules.find((m) => m.name === 'sensor')!.config, /node examples\/temperature\/sensor\.mjs$/);

    // Messages flow sensor -> filter (the pumps count deliveries to filter/input1).
    const sent = await eventually(
      'messages delivered to filter/input1 in /metrics',
      30_000,
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const match = /^edgeport_messages_sent_total\{[^}]*endpoint="filter\/input1"[^}]*\} (\d+)/m.exec(text);
        const count = match === null ? 0 : Number(match[1]);
        return count > 0 ? count : undefined;
      },
      context,
    );
    assert.ok(sent > 0);

    // The console shows the counts (the hub's traffic report, every 10 s while messages flow).
    const report = await eventually('a traffic report line', 20_000, () => lines.find((l) => l['component'] === 'traffic' && /delivered .*filter\/input1 \d+/.test(String(l['msg']))), context);
    assert.match(String(report['msg']), /^messages: received \d+/);
    // The modules connected through the workload API (their own output is in the module logs).
    const sensorLog = readFileSync(join(dataDir, 'modules', 'sensor.log'), 'utf8');
    assert.match(sensorLog, /sensor connected as edgeport-device\/sensor/);
    assert.match(readFileSync(join(dataDir, 'modules', 'filter.log'), 'utf8'), /filter connected as edgeport-device\/filter/);
    assert.ok(Date.now() - started < 45_000, `the example came up and routed in ${Date.now() - started} ms`);

    const stopAt = Date.now();
    child.kill('SIGINT');
    assert.equal(await exited, 0, context());
    assert.ok(Date.now() - stopAt < 10_000, `stopped in ${Date.now() - stopAt} ms`);
    assert.ok(lines.some((l) => l['msg'] === 'edgeport stopped'));
    assert.ok(lines.some((l) => l['msg'] === 'module sensor exited with 0 (stopped by the agent)'), context());
  } finally {
    if (exitCode === undefined) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    killLeftoverModules(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
