import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentMethods } from '../../../application/agent/agent-methods.js';
import { StateStore } from '../../../application/ports/state-store.js';
import { ModuleStateStore } from '../../../application/ports/module-state-store.js';
import { startFileAgent } from '../../support/agent/file-agent.js';
import { manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { isAlive, SCRIPTS, tempDir, until } from '../../support/agent/process-fixtures.js';

const temp = tempDir('agent-module');
after(() => temp.cleanup());

test('agentModule wires the process runtime, file source and reconcile loop as hosted services', { timeout: 20_000 }, async () => {
  const manifestPath = join(temp.dir, 'deployment.json');
  writeFileSync(manifestPath, JSON.stringify(manifestWith({ app: processModule({}, { command: process.execPath, args: ['-e', SCRIPTS.idle] }) })));
  const { container, services, runtime, agent, stop } = await startFileAgent(temp.dir, manifestPath);
  try {
    assert.deepEqual(services.map((s) => s.name), ['storage', 'process-runtime', 'agent']);
    const modules = await runtime.list();
    assert.equal(modules[0]?.state.status, 'running');
    const pid = Number(modules[0]?.state.id);
    assert.ok(isAlive(pid));
    assert.deepEqual(agent.status, { code: 200, description: '' });
    // Restart history is kept in the database with everything else.
    await container.get(ModuleStateStore).put('app', { restartCount: 3, lastRestartTime: 1000 });
    assert.deepEqual(await container.get(StateStore).get('module-state', 'app'), { restartCount: 3, lastRestartTime: 1000 });
    const reported = agent.reported as { modules: Record<string, { runtimeStatus: string }>; runtime: { platform: { architecture: string } } };
    assert.equal(reported.modules['app']?.runtimeStatus, 'running');
    assert.ok(reported.runtime.platform.architecture.length > 0);

    // Direct methods reach the same runtime.
    const methods = container.get(AgentMethods);
    assert.deepEqual(await methods.invoke('RestartModule', { schemaVersion: '1.0', id: 'app' }), { status: 200, payload: null });
    const restartedPid = Number((await runtime.list())[0]?.state.id);
    assert.notEqual(restartedPid, pid);
    assert.equal(isAlive(pid), false);

    // Changing the file redeploys.
    writeFileSync(manifestPath, JSON.stringify(manifestWith({ app: processModule({ status: 'stopped' }, { command: process.execPath, args: ['-e', SCRIPTS.idle] }) })));
    await until(async () => (await runtime.list())[0]?.state.status === 'stopped', 5000, 'module stopped by the new manifest');
    assert.equal(isAlive(restartedPid), false);
    writeFileSync(manifestPath, JSON.stringify(manifestWith({ app: processModule({}, { command: process.execPath, args: ['-e', SCRIPTS.idle] }) })));
    await until(async () => (await runtime.list())[0]?.state.status === 'running', 5000, 'module started again');
  } finally {
    await stop();
  }
  const after = await runtime.list();
  assert.equal(after[0]?.state.status, 'stopped', 'shutdown stops every module');
  assert.equal(isAlive(Number(after[0]?.state.id)), false);
  assert.deepEqual(agent.reported['lastDesiredStatus'], { code: 406, description: 'Agent is not running' });
});
