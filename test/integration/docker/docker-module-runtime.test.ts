import { after, before, test } from 'node:test';
import type { Readable } from 'node:stream';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { mergeEnv } from '../../../adapters/docker/docker-container-config.js';
import { LABELS, OWNER } from '../../../adapters/docker/docker-labels.js';
import { DockerModuleRuntime } from '../../../adapters/docker/docker-module-runtime.js';
import { ModuleNotFoundError, UnsupportedModuleError, type ModuleRuntimeEvent } from '../../../application/ports/module-runtime.js';
import { specsEqual, type ModuleSpec } from '../../../domain/modules/module-spec.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { processSpec } from '../../support/agent/specs.js';
import { TEST_LABEL, buildBusyboxImage, cleanupDocker, dockerClient, newRunId, until } from '../../support/docker/docker-fixtures.js';
import { skipUnless } from '../../support/services.js';
import { freePort } from '../../support/free-port.js';

const skip = await skipUnless('docker');
const runId = newRunId();
const image = `edgeport-test/busybox:${runId}`;
const docker = dockerClient();
const logger = new MemoryLogger();
const runtime = new DockerModuleRuntime(new SystemClock(), logger, {
  labels: { [TEST_LABEL]: runId },
  namePrefix: `ep-${runId}-`,
  defaultNetworkMode: 'none',
  stopTimeoutMs: 2000,
  eventsReconnectMs: 300,
});

before(async () => {
  if (skip === false) await buildBusyboxImage(docker, image, runId);
});
after(async () => {
  await runtime.close();
  if (skip === false) await cleanupDocker(docker, runId, [image]);
});

function dockerSpec(name: string, script: string, overrides: Partial<ModuleSpec> = {}, createOptions: Record<string, unknown> = {}): ModuleSpec {
  return {
    ...processSpec(name),
    type: 'docker',
    imagePullPolicy: 'never',
    settings: { kind: 'docker', image, createOptions: { Cmd: ['sh', '-c', script], ...createOptions } },
    ...overrides,
  };
}

const stateOf = async (module: string) => (await runtime.list()).find((m) => m.name === module);

test('mergeEnv: createOptions.Env overrides same-named module variables', () => {
  assert.deepEqual(mergeEnv({ A: '1', B: '2' }, ['B=3', 'C=4']), ['A=1', 'B=3', 'C=4']);
  assert.deepEqual(mergeEnv({ A: '1' }, undefined), ['A=1']);
});

test('create, start, list: running with labels, merged env and the spec rebuilt from labels', { skip, timeout: 30_000 }, async () => {
  const spec = dockerSpec('web', 'echo "X=$X Y=$Y IOTEDGE_MODULEID=$IOTEDGE_MODULEID"; exec sleep 600', { env: { X: 'module' } }, { Env: ['Y=create'], Labels: { custom: 'kept' } });
  await runtime.create(spec, { X: 'module', Y: 'module', IOTEDGE_MODULEID: 'web' });
  let current = await stateOf('web');
  assert.equal(current?.state.status, 'stopped');
  assert.equal(current?.state.statusDescription, 'created');
  assert.equal(current?.state.startedAt, undefined);

  await runtime.start('web');
  current = await stateOf('web');
  assert.equal(current?.state.status, 'running');
  assert.ok(current?.state.startedAt !== undefined && Math.abs(current.state.startedAt - Date.now()) < 60_000);
  assert.ok(specsEqual(current.spec, spec), 'list() rebuilds the spec the container was created from');

  const info = await docker.getContainer(`ep-${runId}-web`).inspect();
  assert.equal(info.Config.Labels[LABELS.owner], OWNER);
  assert.equal(info.Config.Labels[LABELS.module], 'web');
  assert.equal(info.Config.Labels[LABELS.originalImage], image);
  assert.equal(info.Config.Labels['custom'], 'kept');
  assert.equal(info.HostConfig.NetworkMode, 'none');
  assert.ok(info.Config.Env.includes('Y=create'), 'createOptions.Env wins');
  assert.ok(info.Config.Env.includes('X=module'));

  const lines: string[] = [];
  await until(async () => {
    lines.length = 0;
    for await (const line of runtime.logs('web')) lines.push(line.text);
    return lines.length > 0;
  }, 5000, 'first log line');
  assert.deepEqual(lines, ['X=module Y=create IOTEDGE_MODULEID=web']);
});

test('stop: stopped with the exit code; stop and remove are idempotent; start of a missing module fails', { skip, timeout: 30_000 }, async () => {
  // PID 1 ignores SIGTERM unless it traps it: a trapping script exits 0 at once.
  await runtime.create(dockerSpec('stopper', 'trap "exit 3" TERM; while true; do sleep 0.1; done'), {});
  await runtime.start('stopper');
  assert.equal((await stateOf('stopper'))?.state.status, 'running');
  const started = Date.now();
  await runtime.stop('stopper', 5000);
  assert.ok(Date.now() - started < 4000, 'the trap ended it before the timeout');
  const current = await stateOf('stopper');
  assert.equal(current?.state.status, 'stopped', 'stopped by the agent, whatever the exit code');
  assert.equal(current?.state.exitCode, 3);
  assert.equal(current?.spec.status, 'stopped', 'desired status of the last stop');
  assert.ok(current?.state.exitedAt !== undefined);
  await runtime.stop('stopper');
  await runtime.remove('stopper');
  await runtime.remove('stopper');
  await runtime.stop('stopper');
  assert.equal(await stateOf('stopper'), undefined);
  await assert.rejects(runtime.start('stopper'), ModuleNotFoundError);
  await assert.rejects(async () => {
    for await (const _ of runtime.logs('stopper')) break;
  }, ModuleNotFoundError);
});

test('a container that ignores SIGTERM is killed after the stop timeout', { skip, timeout: 30_000 }, async () => {
  await runtime.create(dockerSpec('stubborn', 'exec sleep 600'), {});
  await runtime.start('stubborn');
  await runtime.stop('stubborn', 1000);
  const current = await stateOf('stubborn');
  assert.equal(current?.state.status, 'stopped');
  assert.equal(current?.state.exitCode, 137);
  await runtime.remove('stubborn');
});

test('an exit on its own: failed with the exit code and an `exited` event; a clean exit is stopped', { skip, timeout: 30_000 }, async () => {
  const events: ModuleRuntimeEvent[] = [];
  const unsubscribe = runtime.onEvent((e) => events.push(e));
  await runtime.watchEvents();
  await runtime.create(dockerSpec('crash', 'echo out; echo err >&2; exit 7'), {});
  await runtime.create(dockerSpec('clean', 'exit 0'), {});
  await runtime.start('crash');
  await runtime.start('clean');
  await until(() => events.some((e) => e.module === 'crash' && e.kind === 'exited'), 10_000, 'exited event');
  await until(() => events.some((e) => e.module === 'clean' && e.kind === 'exited'), 10_000, 'exited event');
  unsubscribe();
  assert.equal(events.find((e) => e.module === 'crash' && e.kind === 'exited')?.exitCode, 7);
  assert.ok(events.some((e) => e.module === 'crash' && e.kind === 'started'));
  const crash = await stateOf('crash');
  assert.equal(crash?.state.status, 'failed');
  assert.equal(crash?.state.exitCode, 7);
  assert.equal(crash?.spec.status, 'running', 'desired status stays the last start');
  assert.equal((await stateOf('clean'))?.state.status, 'stopped');

  const lines = [];
  for await (const line of runtime.logs('crash')) lines.push(line);
  assert.deepEqual(lines.map((l) => [l.stream, l.text]).sort(), [['stderr', 'err'], ['stdout', 'out']]);
  assert.ok(lines.every((l) => Math.abs(l.time - Date.now()) < 60_000), 'times from Docker timestamps');
  await runtime.remove('crash');
  await runtime.remove('clean');
});

test('logs: tail, since and until', { skip, timeout: 30_000 }, async () => {
  await runtime.create(dockerSpec('talker', 'for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo late; exec sleep 600'), {});
  await runtime.start('talker');
  await until(async () => {
    const texts: string[] = [];
    for await (const line of runtime.logs('talker')) texts.push(line.text);
    return texts.includes('late');
  }, 5000, 'the late line');
  const tail: string[] = [];
  for await (const line of runtime.logs('talker', { tail: 2 })) tail.push(line.text);
  assert.deepEqual(tail, ['line5', 'late']);
  const all = [];
  for await (const line of runtime.logs('talker')) all.push(line);
  const third = all[2];
  assert.ok(third !== undefined && third.text === 'line3');
  const since = [];
  for await (const line of runtime.logs('talker', { since: third.time })) since.push(line);
  assert.ok(since.some((l) => l.text === 'line3') && since.some((l) => l.text === 'late'));
  assert.ok(since.every((l) => l.time >= third.time), 'since filters by capture time');
  const before = [];
  for await (const line of runtime.logs('talker', { until: third.time })) before.push(line);
  assert.ok(before.every((l) => l.time < third.time) && !before.some((l) => l.text === 'late'), 'until is exclusive');

  await runtime.remove('talker');
});

test('logs follow: new lines while running; ends when the container stops or the signal aborts', { skip, timeout: 30_000 }, async () => {
  await runtime.create(dockerSpec('ticker', 'trap "exit 0" TERM; i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.1; done'), {});
  await runtime.start('ticker');
  const controller = new AbortController();
  const aborted: string[] = [];
  const abortedFollow = (async () => {
    for await (const line of runtime.logs('ticker', { follow: true, tail: 0, signal: controller.signal })) aborted.push(line.text);
  })();
  const followed: string[] = [];
  const following = (async () => {
    for await (const line of runtime.logs('ticker', { follow: true, tail: 1 })) followed.push(line.text);
  })();
  await until(() => followed.length >= 3 && aborted.length >= 2, 10_000, 'followed ticks');
  controller.abort();
  await abortedFollow;
  await runtime.stop('ticker', 5000);
  await following; // ends by itself: the container stopped
  const numbers = followed.map((t) => Number(t.replace('tick', '')));
  assert.ok(numbers.every((n, i) => i === 0 || n === (numbers[i - 1] as number) + 1), `in order, none lost: ${followed.join(',')}`);
  await runtime.remove('ticker');
});

test('imagePullPolicy never with a missing image, a process module, a foreign container: clear errors', { skip, timeout: 30_000 }, async () => {
  await assert.rejects(
    runtime.create(dockerSpec('ghost', 'true', { settings: { kind: 'docker', image: `edgeport-test/absent:${runId}`, createOptions: {} } }), {}),
    /image edgeport-test\/absent:.* is not on this machine and imagePullPolicy is "never"/,
  );
  await assert.rejects(runtime.create(processSpec('proc'), {}), UnsupportedModuleError);
  await docker.createContainer({ name: `ep-${runId}-foreign`, Image: image, Cmd: ['true'], Labels: { [TEST_LABEL]: runId }, HostConfig: { NetworkMode: 'none' } });
  await assert.rejects(runtime.create(dockerSpec('foreign', 'true'), {}), /a container named ep-.*-foreign exists that Edgeport did not create/);
  assert.equal(await stateOf('foreign'), undefined, 'containers without Edgeport labels are not modules');
});

test('the event stream reconnects when it ends and replays what happened meanwhile, once', { skip, timeout: 30_000 }, async () => {
  const events: ModuleRuntimeEvent[] = [];
  const unsubscribe = runtime.onEvent((e) => events.push(e));
  await runtime.watchEvents();
  await runtime.create(dockerSpec('blip', 'exit 5'), {});
  // Cut the stream (as a daemon restart or a proxy timeout would), then let the container die
  // before the runtime reconnects (300 ms).
  // The private stream is reached through a cast: there is no public way to break it.
  (runtime as unknown as { events: { stream?: Readable } }).events.stream?.destroy();
  await runtime.start('blip');
  await until(() => events.some((e) => e.module === 'blip' && e.kind === 'exited'), 10_000, 'exit seen after the reconnect');
  await new Promise((r) => setTimeout(r, 500));
  unsubscribe();
  assert.equal(events.filter((e) => e.module === 'blip' && e.kind === 'exited').length, 1, 'exactly once');
  assert.equal(events.find((e) => e.module === 'blip' && e.kind === 'exited')?.exitCode, 5);
  assert.ok(logger.entries.some((e) => e.message.includes('event stream ended; reconnecting')));
  await runtime.remove('blip');
});

test('on-create with an unreachable registry: the local image is used, with a warning; without a local image, the pull error', { skip, timeout: 30_000 }, async () => {
  const port = await freePort(); // nothing listens there: the pull fails at once
  const offline = `127.0.0.1:${port}/edgeport-test/busybox:${runId}`;
  await docker.getImage(image).tag({ repo: `127.0.0.1:${port}/edgeport-test/busybox`, tag: runId });
  try {
    await runtime.create(dockerSpec('offline', 'exit 0', { imagePullPolicy: 'on-create', settings: { kind: 'docker', image: offline, createOptions: { Cmd: ['true'] } } }), {});
    assert.ok(logger.entries.some((e) => e.level === 'warn' && e.message.startsWith(`pulling ${offline} failed (`) && e.message.endsWith('using the image already on this machine')));
    await runtime.remove('offline');
  } finally {
    await docker.getImage(offline).remove().catch(() => undefined);
  }
  await assert.rejects(
    runtime.create(dockerSpec('offline', 'exit 0', { imagePullPolicy: 'on-create', settings: { kind: 'docker', image: offline, createOptions: {} } }), {}),
    new RegExp(`^\\w*Error: cannot pull image 127\\.0\\.0\\.1:${port}/edgeport-test/busybox:\\S+ \\(no registry credential matches its registry\\): .*connection refused`),
  );
});

test('a pull that hangs (registry accepts, never answers) fails after pullTimeoutMs', { skip, timeout: 30_000 }, async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  const impatient = new DockerModuleRuntime(new SystemClock(), logger, { labels: { [TEST_LABEL]: runId }, namePrefix: `ep-${runId}-`, pullTimeoutMs: 2000 });
  try {
    const started = Date.now();
    await assert.rejects(
      impatient.create(dockerSpec('hang', 'true', { imagePullPolicy: 'on-create', settings: { kind: 'docker', image: `127.0.0.1:${port}/edgeport-test/hang:1`, createOptions: {} } }), {}),
      /cannot pull image 127\.0\.0\.1:\d+\/edgeport-test\/hang:1 \(no registry credential matches its registry\): the pull did not finish within 2 s/,
    );
    assert.ok(Date.now() - started < 10_000);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('the workload socket directory is mounted at /var/run/iotedge and IOTEDGE_WORKLOADURI points there; a named instance sees only its containers', { skip, timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-wl-'));
  const socketPath = join(dir, 'workload', 'workload.sock');
  mkdirSync(dirname(socketPath));
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const scoped = new DockerModuleRuntime(new SystemClock(), logger, {
    labels: { [TEST_LABEL]: runId, [LABELS.instance]: 'inst' },
    namePrefix: `ep-${runId}-inst-`,
    defaultNetworkMode: 'none',
    stopTimeoutMs: 2000,
    workloadSocket: socketPath,
  });
  try {
    const env = { IOTEDGE_WORKLOADURI: `unix://${socketPath}`, IOTEDGE_MODULEID: 'wl' };
    await scoped.create(dockerSpec('wl', 'echo "uri=$IOTEDGE_WORKLOADURI"; [ -S /var/run/iotedge/workload.sock ] && echo "socket present"; exec sleep 600'), env);
    await scoped.start('wl');
    const info = await docker.getContainer(`ep-${runId}-inst-wl`).inspect();
    assert.deepEqual(info.HostConfig.Binds, [`${dirname(socketPath)}:/var/run/iotedge`]);
    assert.equal(info.Config.Labels[LABELS.instance], 'inst');
    const lines: string[] = [];
    await until(async () => {
      lines.length = 0;
      for await (const line of scoped.logs('wl')) lines.push(line.text);
      return lines.length >= 2;
    }, 5000, 'log lines');
    assert.deepEqual(lines, ['uri=unix:///var/run/iotedge/workload.sock', 'socket present']);
    assert.equal((await scoped.list()).map((m) => m.name).join(), 'wl');
    assert.equal(await stateOf('wl'), undefined, 'an agent without an instance name does not see a named instance\'s containers');

    // Without a workload URI in the environment (no identity provider) nothing is mounted.
    await scoped.create(dockerSpec('plain', 'exec sleep 600'), {});
    assert.equal((await docker.getContainer(`ep-${runId}-inst-plain`).inspect()).HostConfig.Binds, null);
  } finally {
    await scoped.remove('wl');
    await scoped.remove('plain');
    await scoped.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
