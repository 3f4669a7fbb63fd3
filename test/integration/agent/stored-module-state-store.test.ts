import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from 'inversify';
import { StoredModuleStateStore } from '../../../application/agent/stored-module-state-store.js';
import { HostedService } from '../../../application/ports/hosted-service.js';
import { StateStore } from '../../../application/ports/state-store.js';
import { storageModule } from '../../../infrastructure/composition/storage-module.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeport-module-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function openStore(): Promise<{ states: StoredModuleStateStore; raw: StateStore; close: () => Promise<void> }> {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db') }));
  const services = container.getAll(HostedService);
  for (const service of services) await service.start();
  const raw = container.get(StateStore);
  return { states: new StoredModuleStateStore(raw), raw, close: async () => { for (const s of [...services].reverse()) await s.stop(); } };
}

test('restart history survives closing and reopening the database', async () => {
  const first = await openStore();
  await first.states.put('sensor', { restartCount: 4, lastRestartTime: 1_700_000_000_000, lastStartTime: 1_700_000_000_500 });
  await first.states.put('filter', { restartCount: 0 });
  await first.states.put('gone', { restartCount: 1 });
  await first.states.delete('gone');
  await first.close();

  const second = await openStore();
  try {
    assert.deepEqual(await second.states.get('sensor'), { restartCount: 4, lastRestartTime: 1_700_000_000_000, lastStartTime: 1_700_000_000_500 });
    assert.equal(await second.states.get('gone'), undefined);
    assert.deepEqual([...(await second.states.getAll())], [
      ['filter', { restartCount: 0 }],
      ['sensor', { restartCount: 4, lastRestartTime: 1_700_000_000_000, lastStartTime: 1_700_000_000_500 }],
    ]);
    // A malformed document (written by something else) reads as absent rather than crashing the agent.
    await second.raw.put('module-state', 'broken', 'not an object');
    assert.equal(await second.states.get('broken'), undefined);
    assert.equal((await second.states.getAll()).has('broken'), false);
  } finally {
    await second.close();
  }
});
