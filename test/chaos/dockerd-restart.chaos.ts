import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildBusyboxImage, dockerModule, newRunId } from '../support/docker/docker-fixtures.js';
import { commandExists, isRoot, requireCapability } from './support/capabilities.js';
import { PrivateDockerd } from './support/private-dockerd.js';
import { SHORT, startEdge, waitFor, type EdgeUnderTest } from './support/edge-under-test.js';

// dockerd restarted while Docker modules run: the agent manages two containers on a PRIVATE
// daemon (never the system's), which is killed with SIGKILL and later stopped with SIGTERM, and
// started again each time. The agent must not crash, must report the modules sensibly while the
// daemon is away, and must bring both back to running once it answers again.

interface ModuleRow {
  name: string;
  status: string;
  startedAt?: number;
  restartCount?: number;
}

async function modules(dataDir: string): Promise<ModuleRow[] | undefined> {
  const answer = await managementGet(dataDir, '/modules');
  if (answer?.status !== 200) return undefined;
  const parsed = JSON.parse(answer.body) as { modules: ModuleRow[] };
  return parsed.modules;
}

async function managementGet(dataDir: string, path: string): Promise<{ status: number; body: string } | undefined> {
  return await new Promise((resolve) => {
    const req = request({ socketPath: join(dataDir, 'sockets', 'management.sock'), path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const MODULES = ['ticker1', 'ticker2'];
const skip = requireCapability('dockerd and busybox', isRoot() && commandExists('dockerd') && commandExists('busybox'), 'a private dockerd runs as root; the test image is a static busybox');

test('chaos: dockerd killed and restarted while Docker modules run: the agent recovers them', { timeout: 300_000, skip }, async () => {
  const dockerd = new PrivateDockerd();
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-chaos-docker-'));
  const runId = newRunId();
  const image = `edgeport-chaos-busybox:${runId}`;
  let edge: EdgeUnderTest | undefined;
  try {
    await dockerd.start();
    const docker = new Docker({ socketPath: dockerd.socket });
    await buildBusyboxImage(docker, image, runId);
    edge = await startEdge({
      dataDir,
      identities: [],
      routes: {},
      modules: Object.fromEntries(MODULES.map((m) => [m, dockerModule(image, 'while true; do sleep 1; done')])),
      env: { EDGEPORT_AGENT_RUNTIME: 'docker', EDGEPORT_AGENT_DOCKER_SOCKET: dockerd.socket, EDGEPORT_AGENT_DOCKER_INSTANCE: 'edgeport-chaos' },
    });
    const e = edge;
    const context = (): string => `${e.runtime.context().slice(-4000)}\ndockerd:\n${dockerd.log()}`;
    const allRunning = async (after: number): Promise<ModuleRow[] | undefined> => {
      const rows = await modules(dataDir);
      if (rows === undefined) return undefined;
      const ours = MODULES.map((m) => rows.find((r) => r.name === m));
      return ours.every((r) => r !== undefined && r.status === 'running' && (r.startedAt ?? 0) > after) ? (ours as ModuleRow[]) : undefined;
    };
    const containersRunning = async (after: number): Promise<boolean | undefined> => {
      const list = await docker.listContainers({ filters: { label: ['edgeport.instance=edgeport-chaos'] } }).catch(() => []);
      if (list.length !== MODULES.length) return undefined;
      const inspected = await Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
      return inspected.every((c) => c.State.Running && Date.parse(c.State.StartedAt) > after) ? true : undefined;
    };
    await waitFor('both modules running', 60_000, () => allRunning(0), context);
    const outcomes: string[] = [];
    /** What the agent did and saw since log line `from`: its plan commands and the exits it noticed. */
    const agentActions = (from: number): string =>
      e.runtime.lines
        .slice(from)
        .map((l) => String(l['msg']))
        .filter((m) => /^(executed |module ticker\d exited)/.test(m))
        .join(', ');
    for (const signal of SHORT ? (['SIGKILL'] as const) : (['SIGKILL', 'SIGTERM'] as const)) {
      const before = Date.now();
      const logFrom = e.runtime.lines.length;
      await dockerd.stop(signal);
      // While the daemon is away the runtime stays up; `edgeport list` (GET /modules) answers an
      // error naming the Docker engine rather than stale rows, and the agent logs the failed reconcile.
      const away = await waitFor('the management API says the Docker engine is away', 60_000, async () => {
        const answer = await managementGet(dataDir, '/modules');
        return answer !== undefined && answer.status === 503 && answer.body.includes(dockerd.socket) ? answer : undefined;
      }, context);
      await e.runtime.until('the agent logs the failed reconcile', 60_000, () => e.runtime.lines.find((l) => String(l['msg']).startsWith('reconcile failed') && String(l['msg']).includes(dockerd.socket)));
      assert.equal(e.runtime.exitCode, undefined, 'the runtime survives the daemon going away');
      const downAt = Date.now();
      await dockerd.start();
      const rows = await waitFor(`modules running again after dockerd ${signal}`, 120_000, () => allRunning(before), context);
      await waitFor('containers running again in the daemon', 30_000, () => containersRunning(before), context);
      // The daemon stopped the containers: the agent restarted each under its restart policy and
      // counts it (the count is stored just after the start, so wait for it), once, not in a loop.
      const round = outcomes.length + 1;
      const counted = await waitFor('restart counts recorded', 30_000, async () => {
        const now = await modules(dataDir);
        const ours = MODULES.map((m) => now?.find((r) => r.name === m));
        return ours.every((r) => (r?.restartCount ?? 0) >= round) ? (ours as ModuleRow[]) : undefined;
      }, context);
      for (const r of counted) assert.ok((r.restartCount ?? 0) <= 2 * round, `${r.name}: restart count ${String(r.restartCount)} after ${round} daemon restarts`);
      outcomes.push(`${signal}: GET /modules ${away.status} ${away.body.slice(0, 120)} while away; running again ${((Date.now() - downAt) / 1000).toFixed(1)} s after the daemon came back (${counted.map((r) => `${r.name} restartCount ${String(r.restartCount)}`).join(', ')}; agent: ${agentActions(logFrom)})`);
    }
    assert.equal(e.runtime.exitCode, undefined, 'the runtime is still running');
    assert.equal(await e.runtime.stop(), 0, context());
    console.log(`dockerd restart: ${outcomes.join('; ')}`);
  } finally {
    await edge?.runtime.stop();
    const docker = new Docker({ socketPath: dockerd.socket });
    const left = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    await dockerd.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
