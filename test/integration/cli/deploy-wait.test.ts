import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRIPTS, tempDir } from '../../support/agent/process-fixtures.js';
import { cleanEnv, edgeport as edgeportChild } from '../../support/cli/edgeport-child.js';
import { startRuntime } from '../../support/management/runtime-harness.js';

/** `deploy --wait` may wait up to its timeout: a longer kill deadline than the helper's default. */
const edgeport = (args: string[], cwd: string, env: NodeJS.ProcessEnv) => edgeportChild(args, cwd, env, 40_000);

function manifest(modules: Record<string, unknown>): string {
  return JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules } } } });
}

const node = (script: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'process',
  status: 'running',
  restartPolicy: 'never',
  version: '1.0',
  settings: { command: process.execPath, args: ['-e', script] },
  ...overrides,
});

test('deploy --wait: a line per module change, exit 0 once every module runs as deployed and the removed one is gone', { timeout: 90_000 }, async () => {
  const runtime = await startRuntime({ modules: { old: node(SCRIPTS.idle) } });
  const { dir, cleanup } = tempDir('deploy-wait');
  const env = cleanEnv({ EDGEPORT_AGENT_MANIFEST: runtime.manifestPath, EDGEPORT_DATA_DIR: runtime.dir });
  try {
    writeFileSync(join(dir, 'next.json'), manifest({ web: node(SCRIPTS.idle), parked: node(SCRIPTS.idle, { status: 'stopped' }) }));
    const result = await edgeport(['deploy', 'next.json', '--wait', '--timeout', '30'], dir, env);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const lines = result.stdout.split('\n');
    assert.ok(lines.some((l) => /^web: Up /.test(l)), result.stdout);
    assert.ok(lines.some((l) => /^parked: Stopped/.test(l)), result.stdout);
    assert.match(result.stdout, /\ndeployment converged: 2 modules as deployed\n$/);
    const modules = (await runtime.get((await import('../../../application/ports/module-runtime.js')).ModuleRuntime).list()).map((m) => m.name).sort();
    assert.deepEqual(modules, ['parked', 'web'], 'the removed module is gone when --wait returns');

    // The same manifest again: nothing changes, converged at once.
    const again = await edgeport(['deploy', 'next.json', '--wait'], dir, env);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /unchanged \(same content\)[\s\S]*deployment converged/);
  } finally {
    await runtime.close();
    cleanup();
  }
});

test('deploy --wait: a module that fails ends the wait with exit 1 and its reason; one that never settles times out', { timeout: 90_000 }, async () => {
  const runtime = await startRuntime({ modules: {} });
  const { dir, cleanup } = tempDir('deploy-wait');
  const env = cleanEnv({ EDGEPORT_AGENT_MANIFEST: runtime.manifestPath, EDGEPORT_DATA_DIR: runtime.dir });
  try {
    writeFileSync(join(dir, 'bad.json'), manifest({ bad: node(SCRIPTS.crash(3)) }));
    const failed = await edgeport(['deploy', 'bad.json', '--wait', '--timeout', '30'], dir, env);
    assert.equal(failed.status, 1, `${failed.stdout}\n${failed.stderr}`);
    assert.match(failed.stderr, /^deployment failed: bad: Failed \(3\)/m);

    // A program that cannot start, under `always`: retried with back-off, never converged, never failed.
    writeFileSync(join(dir, 'loop.json'), manifest({ loop: { ...node(SCRIPTS.idle, { restartPolicy: 'always' }), settings: { command: join(dir, 'no-such-program') } } }));
    const started = Date.now();
    const timedOut = await edgeport(['deploy', 'loop.json', '--wait', '--timeout', '2'], dir, env);
    assert.equal(timedOut.status, 1, `${timedOut.stdout}\n${timedOut.stderr}`);
    assert.match(timedOut.stderr, /^timed out after 2 s waiting for the deployment to converge: loop \(/m);
    assert.ok(Date.now() - started < 20_000, 'gave up at the timeout');
  } finally {
    await runtime.close();
    cleanup();
  }
});

test('deploy --wait: no runtime running: deployed, then exit 1 saying so; bad option values exit 2', { timeout: 30_000 }, async () => {
  const { dir, cleanup } = tempDir('deploy-wait');
  const env = cleanEnv({ EDGEPORT_AGENT_MANIFEST: join(dir, 'agent.json'), EDGEPORT_DATA_DIR: dir });
  try {
    writeFileSync(join(dir, 'm.json'), manifest({ web: node(SCRIPTS.idle) }));
    const result = await edgeport(['deploy', 'm.json', '--wait'], dir, env);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /no Edgeport runtime is running: cannot reach .*management\.sock; deploying without waiting/);
    assert.match(result.stdout, /deployed to .*agent\.json \(agent\.manifest\): created/);
    for (const args of [['--wait', '--dry-run'], ['--wait', '--timeout', '0'], ['--wait', '--timeout', 'soon']]) {
      const bad = await edgeport(['deploy', 'm.json', ...args], dir, env);
      assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
    }
  } finally {
    cleanup();
  }
});
