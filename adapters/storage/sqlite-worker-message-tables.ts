import { Worker } from 'node:worker_threads';
import type { EncodedEntry, EncodedMessage, EntryRow, LoadedState, MessageTables, QueueRow, RemovalResult } from './message-tables.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { SqliteMessageTables } from './sqlite-message-tables.js';
import { packAppend, type WriterRequest, type WriterResponse } from './sqlite-writer-protocol.js';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Request = WriterRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * SQLite with writes on a writer thread (`sqlite-writer-worker.ts`) and reads on the main thread's
 * connection. Ingest then costs the main thread only the routing and a pack of each group commit.
 */
export class SqliteWorkerMessageTables implements MessageTables {
  private readonly reader: SqliteMessageTables;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(db: SqliteDatabase, path: string, synchronous: 'NORMAL' | 'FULL') {
    this.reader = new SqliteMessageTables(db);
    this.worker = new Worker(new URL('./sqlite-writer-worker.js', import.meta.url), { workerData: { path, synchronous } });
    this.worker.unref();
    this.worker.on('message', (res: WriterResponse) => {
      const p = this.pending.get(res.id);
      if (p === undefined) return;
      this.pending.delete(res.id);
      if (this.pending.size === 0) this.worker.unref();
      if (res.ok) p.resolve(res.result);
      else p.reject(Object.assign(new Error(res.message), res.code === undefined ? {} : { code: res.code }));
    });
    const fail = (error: Error): void => {
      this.failure = new Error(`SQLite writer thread stopped: ${error.message}`);
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.failure === null) fail(new Error(`exit code ${code}`));
    });
  }

  load(): Promise<LoadedState> {
    return this.reader.load();
  }

  async ensureQueue(endpointId: string, priority: number): Promise<QueueRow> {
    return (await this.request({ op: 'ensureQueue', endpointId, priority })) as QueueRow;
  }

  async append(messages: readonly EncodedMessage[], entries: readonly EncodedEntry[]): Promise<void> {
    const packed = packAppend(messages, entries);
    await this.request({ op: 'append', ...packed }, [packed.meta.buffer as ArrayBuffer, packed.bodies, packed.entries.buffer as ArrayBuffer]);
  }

  read(queueId: number, afterSeq: number, limit: number): Promise<EntryRow[]> {
    return this.reader.read(queueId, afterSeq, limit);
  }

  async checkpoint(queueId: number, uptoSeq: number): Promise<RemovalResult> {
    return (await this.request({ op: 'checkpoint', queueId, uptoSeq })) as RemovalResult;
  }

  peekExpiries(queueId: number, afterSeq: number, limit: number): Promise<Array<{ seq: number; expiresAt: number }>> {
    return this.reader.peekExpiries(queueId, afterSeq, limit);
  }

  async removeRange(queueId: number, afterSeq: number, uptoSeq: number): Promise<RemovalResult> {
    return (await this.request({ op: 'removeRange', queueId, afterSeq, uptoSeq })) as RemovalResult;
  }

  async compact(): Promise<void> {
    await this.request({ op: 'compact' });
  }

  async close(): Promise<void> {
    if (this.failure !== null) return;
    await this.request({ op: 'close' });
    await this.worker.terminate();
  }

  private request(req: Request, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the process alive while a write is in flight, not while the writer idles.
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }
}
