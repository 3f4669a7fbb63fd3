import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnless, SERVICES } from '../../support/services.js';
import { dockerClient, newRunId } from '../../support/docker/docker-fixtures.js';
import { eventually, exampleSetup, modulesRunning, REPO, runExample, waitForFlow } from '../../support/example/run-example.js';

const skip = await skipUnless('docker');
const CONFIG = 'examples/temperature/edgeport.docker.toml';
/** This run's containers: `<instance>-sensor`, `<instance>-filter`, labelled edgeport.instance=<instance>. */
const instance = `ep-e2e-${newRunId()}`;
const docker = dockerClient();

after(async () => {
  if (skip !== false) return;
  // Docker modules outlive the agent (as with Azure IoT Edge); the test removes its own.
  const containers = await docker.listContainers({ all: true, filters: { label: [`edgeport.instance=${instance}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
});

test('e2e: the temperature example as Docker images built locally: build-images.mjs, edgeport run with agent.runtime = "docker", sensor -> filter through the hub', { skip, timeout: 180_000 }, async () => {
  // The images: built without any registry, reused when unchanged.
  const build = execFileSync(process.execPath, ['examples/temperature/build-images.mjs', '--docker-socket', SERVICES.docker.socketPath], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  assert.match(build, /edgeport-example\/temperature-sensor:1\.0: (built|up to date)/);
  const again = execFileSync(process.execPath, ['examples/temperature/build-images.mjs', '--docker-socket', SERVICES.docker.socketPath], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal((again.match(/: up to date/g) ?? []).length, 3, `a second build reuses all three images:\n${again}`);

  const { dataDir, metricsPort, env } = await exampleSetup('edgeport-docker-example-', {
    EDGEPORT_AGENT_DOCKER_SOCKET: SERVICES.docker.socketPath,
    EDGEPORT_AGENT_DOCKER_INSTANCE: instance,
  });
  const run = runExample(CONFIG, env);
  const { lines, context } = run;
  try {
    await run.running();
    assert.ok(lines.some((l) => String(l['msg']).startsWith('module runtime: docker (')), `the docker runtime was chosen\n${context()}`);

    const modules = await eventually('sensor and filter containers running in edgeport list', 60_000, () => modulesRunning(run, ['sensor', 'filter']), context);
    assert.equal(modules.find((m) => m.name === 'sensor')!.config, 'edgeport-example/temperature-sensor:1.0');

    // The unchanged SDK module in the container found the workload socket and the hub.
    const sensor = await docker.getContainer(`${instance}-sensor`).inspect();
    assert.equal(sensor.HostConfig.NetworkMode, 'host');
    assert.deepEqual(sensor.HostConfig.Binds, [`${join(dataDir, 'sockets', 'workload')}:/var/run/iotedge`]);
    assert.ok(sensor.Config.Env.includes('IOTEDGE_WORKLOADURI=unix:///var/run/iotedge/workload.sock'), sensor.Config.Env.join('\n'));
    assert.ok(sensor.Config.Env.includes('IOTEDGE_MODULEID=sensor'));

    const flow = await waitForFlow(run, metricsPort, 'filter/input1', 60_000);
    assert.ok(flow.delivered > 0);
    assert.match(flow.report, /^messages: received \d+/);

    // The module's own output, read through `edgeport logs` (docker logs).
    const logs = await eventually('the filter logs its connection', 20_000, () => {
      const out = run.cli(['logs', 'filter', '--tail', '50']);
      return /filter connected as edgeport-device\/filter/.test(out.stdout) ? out.stdout : undefined;
    }, context);
    assert.match(logs, /filter connected as edgeport-device\/filter/);

    run.child.kill('SIGINT');
    assert.equal(await run.exited, 0, context());
  } finally {
    await run.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
