import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, exampleSetup, killLeftoverModules, modulesRunning, runExample, waitForFlow } from '../../support/example/run-example.js';

const CONFIG = 'examples/temperature/edgeport.toml';

test('e2e: the temperature example (npm start\'s configuration) starts sensor and filter, routes sensor -> filter, logs counts, exits 0 on SIGINT', { timeout: 90_000 }, async () => {
  const { dataDir, metricsPort, env } = await exampleSetup('edgeport-example-');
  const run = runExample(CONFIG, env);
  const { lines, context } = run;
  const started = Date.now();
  try {
    await run.running();

    // Both modules run, as `edgeport list` reports them.
    const modules = await eventually('sensor and filter running in edgeport list', 30_000, () => modulesRunning(run, ['sensor', 'filter']), context);
    assert.match(modules.find((m) => m.name === 'sensor')!.config, /node examples\/temperature\/sensor\.mjs$/);

    // Messages flow sensor -> filter (the pumps count deliveries to filter/input1), and the console
    // shows the counts (the hub's traffic report, every 10 s while messages flow).
    const flow = await waitForFlow(run, metricsPort, 'filter/input1');
    assert.ok(flow.delivered > 0);
    assert.match(flow.report, /^messages: received \d+/);
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
