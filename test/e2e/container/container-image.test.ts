import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerClient, newRunId } from '../../support/docker/docker-fixtures.js';
import { deliveredTo, eventually, REPO } from '../../support/example/run-example.js';
import { freePort } from '../../support/free-port.js';
import { SERVICES, skipUnless } from '../../support/services.js';

const skip = await skipUnless('docker');
const IMAGE = `edgeport:${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version}`;
const runId = newRunId();
/** This run's runtime containers and, through agent.dockerInstance, its module containers. */
const instance = `ep-ct-${runId}`;
const docker = dockerClient();
// The data directory has the same path on the host and in the container: the agent bind-mounts its
// workload socket directory into the module containers it starts beside itself (docs/operations.md).
const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-container-'));

after(async () => {
  if (skip === false) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`edgeport.instance=${instance}`] } });
    const runtimes = ['a', 'b'].map((suffix) => `${instance}-runtime-${suffix}`);
    await Promise.all([...containers.map((c) => c.Id), ...runtimes].map((id) => docker.getContainer(id).remove({ force: true, v: true }).catch(() => undefined)));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

function dockerCli(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout, env: { ...process.env, DOCKER_HOST: `unix://${SERVICES.docker.socketPath}` } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `edgeport <args>` inside the runtime container (as `docker exec` runs it: root). */
function inContainer(name: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return dockerCli(['exec', name, 'edgeport', ...args]);
}

async function metric(port: number, name: string, labels: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const match = new RegExp(`^${name}\\{[^}]*${labels.replace(/[$]/g, '\\$&')}[^}]*\\} (\\d+)`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

test('e2e: the container image (built on a locally imported base) runs the temperature example as sibling Docker modules, stops on docker stop within 10 s with exit 0, and a new container on the same volume keeps identities and queued messages', { skip, timeout: 900_000 }, async () => {
  // Images: the example's modules and Edgeport's, built without any registry pull, reused when unchanged.
  execFileSync(process.execPath, ['examples/temperature/build-images.mjs', '--docker-socket', SERVICES.docker.socketPath], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  const built = execFileSync(process.execPath, ['scripts/build-image.mjs', '--docker-socket', SERVICES.docker.socketPath], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  assert.match(built, new RegExp(`${IMAGE.replace('.', '\\.')}: (built|up to date)`));
  const image = await docker.getImage(IMAGE).inspect();
  assert.deepEqual(image.Config.Entrypoint, ['node', '--max-semi-space-size=2', '/opt/edgeport/dist/infrastructure/container/entrypoint.js']);
  assert.ok(image.Config.Healthcheck?.Test?.join(' ').includes('healthcheck.js'), 'the image has a HEALTHCHECK');
  assert.ok(Object.keys(image.Config.Volumes ?? {}).includes('/var/lib/edgeport'));

  const metricsPort = await freePort();
  const env = [
    `EDGEPORT_DATA_DIR=${dataDir}`,
    `EDGEPORT_AGENT_MANIFEST=${join(dataDir, 'deployment.json')}`,
    `EDGEPORT_AGENT_DOCKER_INSTANCE=${instance}`,
    `EDGEPORT_HUB_MQTT_PORT=${await freePort()}`,
    `EDGEPORT_HUB_AMQP_PORT=${await freePort()}`,
    `EDGEPORT_HUB_HTTPS_PORT=${await freePort()}`,
    `EDGEPORT_METRICS_PORT=${metricsPort}`,
    'EDGEPORT_HUB_STORE_AND_FORWARD_MAX_BYTES=52428800',
    ...['MQTT', 'AMQP', 'HTTPS'].map((p) => `EDGEPORT_HUB_${p}_HOST=127.0.0.1`),
    'EDGEPORT_METRICS_HOST=127.0.0.1',
  ];
  const start = (name: string): void => {
    const args = ['run', '-d', '--name', name, '--network', 'host', '-v', `${SERVICES.docker.socketPath}:/var/run/docker.sock`, '-v', `${dataDir}:${dataDir}`, '--label', `edgeport.instance=${instance}`];
    const started = dockerCli([...args, ...env.flatMap((e) => ['-e', e]), IMAGE]);
    assert.equal(started.status, 0, started.stderr);
  };
  const logsOf = (name: string): string => {
    const logs = dockerCli(['logs', name]);
    return `${logs.stdout}${logs.stderr}`;
  };

  const first = `${instance}-runtime-a`;
  start(first);
  await eventually('GET /health', 60_000, () => fetch(`http://127.0.0.1:${metricsPort}/health`).then((r) => (r.ok ? true : undefined), () => undefined), () => logsOf(first));
  // PID 1 runs as the unprivileged user with the Docker socket's group.
  const status = dockerCli(['exec', first, 'cat', '/proc/1/status']).stdout;
  assert.match(status, /^Uid:\s+10001\s/m, status);
  assert.match(logsOf(first), /running as edgeport \(uid 10001\) with the Docker socket's group \d+/);

  // Deploy through the CLI in the container; the agent starts the modules as sibling containers.
  writeFileSync(join(dataDir, 'temperature.json'), readFileSync(join(REPO, 'examples/temperature/deployment.docker.json')));
  const deployed = inContainer(first, ['deploy', join(dataDir, 'temperature.json')]);
  assert.equal(deployed.status, 0, deployed.stdout + deployed.stderr);
  await eventually('sensor and filter running', 90_000, () => {
    const list = inContainer(first, ['list', '--json']);
    if (list.status !== 0) return undefined;
    const rows = JSON.parse(list.stdout) as Array<{ name: string; status: string }>;
    return ['sensor', 'filter'].every((m) => rows.some((r) => r.name === m && r.status === 'running')) ? rows : undefined;
  }, () => logsOf(first));
  const sensor = await docker.getContainer(`${instance}-sensor`).inspect();
  assert.equal(sensor.HostConfig.NetworkMode, 'host');
  assert.deepEqual(sensor.HostConfig.Binds, [`${join(dataDir, 'sockets', 'workload')}:/var/run/iotedge`]);

  // Messages flow sensor -> filter through the hub in the container, and some wait for $upstream.
  await eventually('messages delivered to filter/input1', 90_000, async () => ((await deliveredTo(metricsPort, 'filter/input1')) > 0 ? true : undefined), () => logsOf(first));
  await eventually('messages queued for $upstream', 90_000, async () => (((await metric(metricsPort, 'edgeport_queue_length', 'endpoint="$upstream"')) ?? 0) > 0 ? true : undefined), () => logsOf(first));

  // Operations in the container: check (all fine), the health check, a support bundle with docker inspect.
  const check = inContainer(first, ['check']);
  assert.equal(check.status, 0, check.stdout);
  assert.match(check.stdout, /✓ listener ports are free or held by this runtime - .* held by this runtime/);
  const health = dockerCli(['exec', first, 'node', '/opt/edgeport/dist/infrastructure/container/healthcheck.js']);
  assert.equal(health.status, 0, health.stdout);
  const bundle = inContainer(first, ['support-bundle', '-o', join(dataDir, 'bundle.tar.gz')]);
  assert.equal(bundle.status, 0, bundle.stderr);
  const listed = execFileSync('tar', ['-tzf', join(dataDir, 'bundle.tar.gz')], { encoding: 'utf8' });
  for (const file of ['inspect/sensor.json', 'inspect/filter.json', 'logs/sensor_log.txt', 'logs/edgeport.log', 'check.json']) assert.ok(listed.split('\n').includes(file), `${file} in:\n${listed}`);

  // A leaf identity, then a deployment without modules: the queue stops changing.
  const leaf = inContainer(first, ['identity', 'add', 'container-leaf']);
  assert.equal(leaf.status, 0, leaf.stderr);
  const manifest = JSON.parse(readFileSync(join(REPO, 'examples/temperature/deployment.docker.json'), 'utf8')) as { modulesContent: Record<string, Record<string, Record<string, unknown>>> };
  manifest.modulesContent['$edgeAgent']!['properties.desired']!['modules'] = {};
  writeFileSync(join(dataDir, 'empty.json'), JSON.stringify(manifest));
  assert.equal(inContainer(first, ['deploy', join(dataDir, 'empty.json')]).status, 0);
  await eventually('the module containers removed', 60_000, async () => ((await docker.listContainers({ all: true, filters: { label: [`edgeport.instance=${instance}`, 'edgeport.module'] } })).length === 0 ? true : undefined), () => logsOf(first));
  const queued = await eventually('the $upstream queue length', 10_000, () => metric(metricsPort, 'edgeport_queue_length', 'endpoint="$upstream"'), () => logsOf(first));
  assert.ok(queued > 0);

  // docker stop: SIGTERM to PID 1, a graceful stop well within Docker's 10 s, exit code 0.
  const stopStarted = Date.now();
  const stopped = dockerCli(['stop', '-t', '10', first], 30_000);
  const stopSeconds = (Date.now() - stopStarted) / 1000;
  assert.equal(stopped.status, 0, stopped.stderr);
  assert.ok(stopSeconds < 10, `docker stop took ${stopSeconds.toFixed(1)} s`);
  assert.equal((await docker.getContainer(first).inspect()).State.ExitCode, 0, logsOf(first));
  assert.match(logsOf(first), /"msg":"edgeport stopped"/);

  // A new container on the same volume: same identities, same queued messages.
  const second = `${instance}-runtime-b`;
  start(second);
  const requeued = await eventually('the $upstream queue after the restart', 60_000, () => metric(metricsPort, 'edgeport_queue_length', 'endpoint="$upstream"'), () => logsOf(second));
  assert.equal(requeued, queued);
  const identities = inContainer(second, ['identity', 'list']);
  assert.match(identities.stdout, /^container-leaf\tdevice\tenabled$/m);
  const again = dockerCli(['stop', '-t', '10', second], 30_000);
  assert.equal(again.status, 0);
  assert.equal((await docker.getContainer(second).inspect()).State.ExitCode, 0);
});
