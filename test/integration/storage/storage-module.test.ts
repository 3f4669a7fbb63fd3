import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from 'inversify';
import { Clock } from '../../../application/ports/clock.js';
import { EndpointDelivery } from '../../../application/ports/endpoint-delivery.js';
import { HostedService } from '../../../application/ports/hosted-service.js';
import { Logger } from '../../../application/ports/logger.js';
import { MessageStore } from '../../../application/ports/message-store.js';
import { Metrics } from '../../../application/ports/metrics.js';
import { RandomSource } from '../../../application/ports/random-source.js';
import { StateStore } from '../../../application/ports/state-store.js';
import { DeliverStoredMessages } from '../../../application/hub/deliver-stored-messages.js';
import { IngestMessage } from '../../../application/hub/ingest-message.js';
import { PipelineMetrics } from '../../../application/hub/pipeline-metrics.js';
import { PipelineOptions } from '../../../application/hub/pipeline-options.js';
import { QueueSignal } from '../../../application/hub/queue-signal.js';
import { RouteConfig } from '../../../application/hub/route-config.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../../support/in-memory-metrics.js';
import { CryptoRandomSource } from '../../../adapters/random/crypto-random-source.js';
import { StorageLifecycle } from '../../../adapters/storage/storage-lifecycle.js';
import { StorageConnection } from '../../../adapters/storage/storage-connection.js';
import { storageModule } from '../../../infrastructure/composition/storage-module.js';
import { RecordingDelivery, SENSOR, SilentLogger, eventually, telemetry } from '../../support/pipeline-harness.js';

for (const sync of ['normal', 'full'] as const) {
  test(`storageModule wires the pipeline through inversify on SQLite (sync=${sync}) with the documented pragmas`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeport-module-'));
    const path = join(dir, 'nested', 'data', 'edgeport.db');
    const c = new Container({ defaultScope: 'Singleton' });
    c.load(storageModule({ kind: 'sqlite', path, sync }));
    const delivery = new RecordingDelivery();
    c.bind(Clock).to(SystemClock);
    c.bind(RandomSource).to(CryptoRandomSource);
    c.bind(Metrics).to(InMemoryMetrics);
    c.bind(Logger).toConstantValue(new SilentLogger());
    c.bind(EndpointDelivery).toConstantValue(delivery);
    c.bind(PipelineOptions).toConstantValue(new PipelineOptions({ timeToLiveSecs: 60 }));
    c.bind(RouteConfig).toSelf();
    c.bind(QueueSignal).toSelf();
    c.bind(PipelineMetrics).toSelf();
    c.bind(IngestMessage).toSelf();
    c.bind(DeliverStoredMessages).toSelf();
    const lifecycle = c.get(StorageLifecycle);
    assert.deepEqual(c.getAll(HostedService), [lifecycle], 'the lifecycle is a hosted service');
    try {
      await lifecycle.start();
      assert.ok((await stat(path)).isFile(), 'the parent directories are created');
      const ds = c.get(StorageConnection);
      const pragma = async (name: string): Promise<unknown> => Object.values(((await ds.query(`PRAGMA ${name}`)) as Array<Record<string, unknown>>)[0] ?? {})[0];
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('synchronous'), sync === 'full' ? 2 : 1);
      assert.equal(await pragma('auto_vacuum'), 2, 'incremental auto-vacuum');
      assert.equal(c.get(MessageStore), c.get(MessageStore));
      assert.ok(c.get(RouteConfig).replace({ up: 'FROM /messages/* INTO $upstream' }).ok);
      const pumps = c.get(DeliverStoredMessages);
      await pumps.start();
      await Promise.all([1, 2, 3].map((i) => c.get(IngestMessage).ingest(telemetry(i), SENSOR)));
      await eventually(() => delivery.ids('$upstream').length === 3);
      assert.deepEqual(delivery.ids('$upstream'), ['1', '2', '3']);
      await c.get(StateStore).put('module-state', 'sensor', { restarts: 1 });
      assert.deepEqual(await c.get(StateStore).get('module-state', 'sensor'), { restarts: 1 });
      await pumps.stop();
    } finally {
      await lifecycle.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
