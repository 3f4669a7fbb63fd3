import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port.js';
import { deliveredTo, eventually, exampleEnv, modulesRunning, runExample } from '../../support/example/run-example.js';

const CONFIG = 'examples/temperature/edgeport.toml';

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
    EDGEPORT_METRICS_PORT: String(metricsPort),
    EDGEPORT_METRICS_HOST: '127.0.0.1',
  });
  const run = runExample(CONFIG, env);
  const { lines, context } = run;
  const started = Date.now();
  try {
    await run.running();

    // Both modules run, as `edgeport list` reports them.
    const modules = await eventually('sensor and filter running in edgeport list', 30_000, () => modulesRunning(run, ['sensor', 'filter']), context);
    assert.match(modules.find((m) => m.name === 'sensor')!.config, /node examples\/temperature\/sensor\.mjs$/);

    // Messages flow sensor -> filter (the pumps count deliveries to filter/input1).
    const sent = await eventually('messages delivered to filter/input1 in /metrics', 30_000, async () => {
      const count = await deliveredTo(metricsPort, 'filter/input1');
      return count > 0 ? count : undefined;
    }, context);
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
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 0, context());
    assert.ok(Date.now() - stopAt < 10_000, `stopped in ${Date.now() - stopAt} ms`);
    assert.ok(lines.some((l) => l['msg'] === 'edgeport stopped'));
    assert.ok(lines.some((l) => l['msg'] === 'module sensor exited with 0 (stopped by the agent)'), context());
  } finally {
    await run.stop();
    killLeftoverModules(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
