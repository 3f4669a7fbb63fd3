/**
 * The SQLite writer thread: every write of the message store (group commits, checkpoints, expiry,
 * vacuum) runs here on its own connection, so the main thread keeps routing and serving clients
 * while a commit is on its way to disk. Reads stay on the main thread (WAL: readers never block).
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { SqliteDatabase } from './sqlite-database.js';
import { SqliteMessageTables } from './sqlite-message-tables.js';
import { unpackAppend, type WalCheckpointResult, type WriterRequest, type WriterResponse } from './sqlite-writer-protocol.js';

type DatabaseConstructor = new (path: string, options?: { timeout?: number; fileMustExist?: boolean }) => SqliteDatabase & { close(): void };

const { path, synchronous } = workerData as { path: string; synchronous: 'NORMAL' | 'FULL' };
const Database = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
const db = new Database(path, { timeout: 5000, fileMustExist: true });
db.pragma(`synchronous = ${synchronous}`);
db.pragma('journal_size_limit = 67108864');
db.pragma('cache_size = -16384');
db.pragma('temp_store = MEMORY');
const tables = new SqliteMessageTables(db);
const port = parentPort!;

async function handle(req: WriterRequest): Promise<unknown> {
  switch (req.op) {
    case 'append': {
      const { messages, entries } = unpackAppend(req);
      await tables.append(messages, entries);
      return null;
    }
    case 'checkpoint':
      return await tables.checkpoint(req.queueId, req.uptoSeq);
    case 'removeRange':
      return await tables.removeRange(req.queueId, req.afterSeq, req.uptoSeq);
    case 'ensureQueue':
      return await tables.ensureQueue(req.endpointId, req.priority);
    case 'compact':
      await tables.compact();
      return null;
    case 'walCheckpoint':
      return (db.pragma(`wal_checkpoint(${req.mode})`) as WalCheckpointResult[])[0];
    case 'close':
      db.close();
      return null;
  }
}

// Requests run one at a time, in arrival order: offsets reach the disk in the order they were assigned.
let chain: Promise<void> = Promise.resolve();
port.on('message', (req: WriterRequest) => {
  chain = chain.then(async () => {
    let response: WriterResponse;
    try {
      response = { id: req.id, ok: true, result: await handle(req) };
      // The body buffer goes back for the next pack (its rows are committed; SQLite copied the bytes).
      if (req.op === 'append') response.bodies = req.bodies;
    } catch (error) {
      const e = error as { message?: string; code?: string };
      response = { id: req.id, ok: false, message: e.message ?? String(error), ...(e.code === undefined ? {} : { code: e.code }) };
    }
    port.postMessage(response, response.ok && response.bodies !== undefined ? [response.bodies] : []);
    if (req.op === 'close') port.close();
  });
});
