/**
 * Child process for the crash test (not a test itself). Runs the real pipeline on a SQLite file:
 *   node crash-child.js <db path> ingest <first id>   ingest at full speed until killed
 *   node crash-child.js <db path> drain               deliver what is stored, print DONE, exit
 * Protocol on stdout, one line each: `READY`, `A <id>` (acknowledged = committed),
 * `D <endpoint> <id>` (delivered; written synchronously before the pump checkpoints), and from the
 * drain `S <dropped> <queue entries> <messages>` (messages the pumps dropped, rows left in SQLite)
 * followed by `DONE`.
 */
import { writeSync } from 'node:fs';
import type { SqliteDatabase } from '../../adapters/storage/sqlite-database.js';
import type { Endpoint } from '../../domain/routing/index.js';
import type { Message } from '../../domain/messages/message.js';
import type { DeliveryResult } from '../../application/ports/endpoint-delivery.js';
import { SystemClock } from '../../adapters/clock/system-clock.js';
import { createDataSource } from '../../adapters/storage/create-data-source.js';
import { SqlMessageStore } from '../../adapters/storage/sql-message-store.js';
import { CryptoRandomSource } from '../../adapters/random/crypto-random-source.js';
import { RecordingDelivery, SENSOR, buildPipeline, telemetry } from './pipeline-harness.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to stdout before returning. Starting the SQLite writer's Worker makes Node
 * open `process.stdout`, which switches fd 1 (a pipe) to non-blocking: a bare `writeSync` then
 * throws EAGAIN (or writes only part) whenever the test process reads slower than we write, as
 * under load. Here a full pipe makes us wait, like a slow endpoint; no line is ever lost.
 */
function writeLines(text: string): void {
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

class ReportingDelivery extends RecordingDelivery {
  override async deliver(endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult> {
    let out = '';
    for (const m of messages) out += `D ${endpoint.id} ${m.properties['id']}\n`;
    writeLines(out);
    return { delivered: messages.length };
  }
}

const [path, mode, first] = process.argv.slice(2);
if (path === undefined || (mode !== 'ingest' && mode !== 'drain')) {
  process.stderr.write('usage: crash-child.js <db> ingest <first id> | drain\n');
  process.exit(2);
}

const dataSource = createDataSource({ kind: 'sqlite', path });
const store = new SqlMessageStore(dataSource);
await store.open();
const p = buildPipeline({
  store,
  clock: new SystemClock(),
  random: new CryptoRandomSource(),
  delivery: new ReportingDelivery(),
  routes: {
    up: 'FROM /messages/modules/sensor/outputs/* INTO $upstream',
    filter: 'FROM /messages/modules/sensor/outputs/* INTO BrokeredEndpoint("/modules/filter/inputs/input1")',
  },
  options: { deliveryBatchSize: 100, upstreamBatchSize: 100, readPageSize: 500 },
});
await p.pumps.start();
writeLines('READY\n');

if (mode === 'drain') {
  const timer = setInterval(() => {
    if (store.queues().every((q) => q.length === 0)) {
      clearInterval(timer);
      // What the pumps dropped, and what SQLite itself still holds, counted in the database.
      const db = (dataSource.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
      const count = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      const dropped = p.metrics.value('edgeport_messages_dropped_total');
      writeLines(`S ${dropped} ${count('queue_entries')} ${count('messages')}\nDONE\n`);
      void p.pumps.stop().then(() => dataSource.destroy()).then(() => process.exit(0));
    }
  }, 20);
} else {
  let next = Number(first ?? '1');
  let acks: string[] = [];
  const flushAcks = (): void => {
    if (acks.length === 0) return;
    writeLines(acks.join(''));
    acks = [];
  };
  const WINDOW = 1000;
  const sendOne = (): void => {
    const id = next++;
    void p.ingest.ingest(telemetry(id, 256), SENSOR).then(() => {
      acks.push(`A ${id}\n`);
      if (acks.length >= 256) flushAcks();
      sendOne();
    });
  };
  setInterval(flushAcks, 5);
  for (let i = 0; i < WINDOW; i++) sendOne();
}
