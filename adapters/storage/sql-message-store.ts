import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { dirname } from 'node:path';
import type { DataSource } from 'typeorm';
import { messageSize, type Properties } from '../../domain/messages/message.js';
import type { QueueKey } from '../../domain/messages/store-and-forward.js';
import { MessageStore, type AppendItem, type QueueInfo, type QueuedMessage } from '../../application/ports/message-store.js';
import type { EncodedEntry, EncodedMessage, MessageTables, QueueRow } from './message-tables.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { SqliteMessageTables } from './sqlite-message-tables.js';
import { SqliteWorkerMessageTables } from './sqlite-worker-message-tables.js';
import { asStoreError } from './store-errors.js';
import { StorageConnection } from './storage-connection.js';

interface QueueState extends QueueRow {
  length: number;
}

/** An append handed to the tables: what to count once `committed` resolves. */
interface PendingAppend {
  offsets: number[];
  bytes: number;
  entries: readonly EncodedEntry[];
  committed: Promise<void>;
}

const keyOf = (endpointId: string, priority: number): string => `${priority}\u0000${endpointId}`;

function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * The durable message store on SQL: SQLite (better-sqlite3) or PostgreSQL. TypeORM's `DataSource`
 * opens the database and runs the migrations; the hot paths (multi-row inserts, paged reads,
 * checkpoints) are prepared SQL per dialect (`MessageTables`), which is what an ORM cannot batch
 * (docs/storage.md). Offsets are message sequence numbers assigned here in commit order (appends are
 * serialized), so every queue reads in the order messages were acknowledged.
 */
@injectable()
export class SqlMessageStore extends MessageStore {
  private tables: MessageTables | null = null;
  private opening: Promise<void> | null = null;
  private readonly byKey = new Map<string, QueueState>();
  private readonly byId = new Map<number, QueueState>();
  private nextSeq = 1;
  private bytes = 0;
  /** Settles once the last append started is queued for commit (pipelined tables) or committed. */
  private appends: Promise<unknown> = Promise.resolve();
  /** Settles once the last append started is committed (or failed); commits settle in call order. */
  private lastWrite: Promise<unknown> = Promise.resolve();

  /** `dataSource`: a TypeORM `DataSource` or a `RawSqliteConnection` (`StorageConnection`). */
  constructor(@inject(StorageConnection) private readonly dataSource: StorageConnection) {
    super();
  }

  open(): Promise<void> {
    if (this.opening === null) {
      this.opening = this.load().catch((error: unknown) => {
        this.opening = null;
        throw error;
      });
    }
    return this.opening;
  }

  async close(): Promise<void> {
    await this.appends;
    await this.lastWrite;
    const tables = this.tables;
    this.tables = null;
    this.opening = null;
    await tables?.close?.();
  }

  /**
   * A full disk rejects with `DiskFullError`, an unreachable database server with
   * `StoreUnavailableError`, each naming where the store lives; nothing committed is touched.
   * Calls are serialized (offsets follow call order). With pipelined tables (SQLite) the next call
   * starts once this one is queued for commit, not committed, so the next group commit is encoded
   * while this one is on its way to disk; each still resolves only after its own commit.
   */
  append(items: readonly AppendItem[]): Promise<number[]> {
    const issued = this.appends.then(() => this.issueAppend(items));
    const run = issued.then(async (write) => {
      await write.committed;
      this.committed(write);
      return write.offsets;
    });
    const wrapped = run.catch((error: unknown) => {
      throw asStoreError(error, this.location(), this.dataSource.options.type === 'postgres');
    });
    this.appends = (this.tables?.pipelined === true ? issued : run).catch(() => undefined);
    this.lastWrite = run.catch(() => undefined);
    return wrapped;
  }

  async read(queue: QueueKey, afterOffset: number, limit: number): Promise<QueuedMessage[]> {
    const q = this.byKey.get(keyOf(queue.endpointId, queue.priority));
    if (q === undefined) return [];
    const rows = await this.ready().read(q.id, afterOffset, limit);
    return rows.map((r) => ({
      offset: r.seq,
      expiresAt: r.expiresAt,
      enqueuedAt: r.enqueuedAt,
      message: {
        body: r.body,
        properties: JSON.parse(r.properties) as Properties,
        systemProperties: JSON.parse(r.systemProperties) as Properties,
      },
    }));
  }

  async checkpoint(queue: QueueKey, offset: number): Promise<void> {
    const q = this.byKey.get(keyOf(queue.endpointId, queue.priority));
    if (q === undefined || offset <= q.checkpoint) return;
    const removed = await this.ready().checkpoint(q.id, offset);
    if (offset > q.checkpoint) q.checkpoint = offset;
    q.length -= removed.entries;
    this.bytes -= removed.freedBytes;
  }

  async removeExpired(queue: QueueKey, afterOffset: number, now: number, maxScan = 100_000): Promise<number> {
    const q = this.byKey.get(keyOf(queue.endpointId, queue.priority));
    if (q === undefined || q.length === 0) return 0;
    const tables = this.ready();
    const from = Math.max(afterOffset, q.checkpoint);
    let cursor = from;
    let lastExpired = 0;
    let scanned = 0;
    scan: while (scanned < maxScan) {
      const page = await tables.peekExpiries(q.id, cursor, Math.min(1000, maxScan - scanned));
      for (const e of page) {
        if (e.expiresAt > now) break scan;
        lastExpired = e.seq;
      }
      scanned += page.length;
      const last = page[page.length - 1];
      if (last === undefined || page.length < 1000) break;
      cursor = last.seq;
    }
    if (lastExpired === 0) return 0;
    const removed = await tables.removeRange(q.id, from, lastExpired);
    q.length -= removed.entries;
    this.bytes -= removed.freedBytes;
    return removed.entries;
  }

  queues(): QueueInfo[] {
    return [...this.byKey.values()].map((q) => ({ endpointId: q.endpointId, priority: q.priority, length: q.length, checkpoint: q.checkpoint }));
  }

  usedBytes(): number {
    return this.bytes;
  }

  async compact(): Promise<void> {
    await this.ready().compact();
  }

  private async load(): Promise<void> {
    if (!this.dataSource.isInitialized) await this.dataSource.initialize();
    // PostgreSQL's tables (and TypeORM with them) are loaded only for a PostgreSQL store.
    const tables = this.dataSource.options.type === 'postgres' ? new (await import('./postgres-message-tables.js')).PostgresMessageTables(this.dataSource as unknown as DataSource) : this.sqliteTables();
    const state = await tables.load();
    this.byKey.clear();
    this.byId.clear();
    let maxCheckpoint = 0;
    for (const q of state.queues) {
      this.track({ ...q, length: state.lengths.get(q.id) ?? 0 });
      maxCheckpoint = Math.max(maxCheckpoint, q.checkpoint);
    }
    this.bytes = state.usedBytes;
    // New offsets must sort after everything stored and everything ever checkpointed.
    this.nextSeq = Math.max(state.maxSeq, maxCheckpoint) + 1;
    this.tables = tables;
  }

  /**
   * A file database writes on a writer thread (reads stay here); `:memory:` databases, and
   * `EDGEPORT_SQLITE_WRITER=inline`, write on the main thread.
   */
  private sqliteTables(): MessageTables {
    const db = (this.dataSource.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
    const path = String(this.dataSource.options.database ?? ':memory:');
    if (path === ':memory:' || process.env['EDGEPORT_SQLITE_WRITER'] === 'inline') return new SqliteMessageTables(db);
    const synchronous = db.pragma('synchronous', { simple: true }) === 2 ? 'FULL' : 'NORMAL';
    return new SqliteWorkerMessageTables(db, path, synchronous);
  }

  /** Where the data lives, for errors an operator acts on (never the PostgreSQL URL: it may hold a password). */
  private location(): string {
    if (this.dataSource.options.type === 'postgres') return 'the PostgreSQL database (storage.url)';
    const path = String(this.dataSource.options.database ?? ':memory:');
    return path === ':memory:' ? 'an in-memory SQLite database' : `the data directory ${dirname(path)} (SQLite database ${path})`;
  }

  private ready(): MessageTables {
    if (this.tables === null) throw new Error('message store used before open()');
    return this.tables;
  }

  private async issueAppend(items: readonly AppendItem[]): Promise<PendingAppend> {
    const tables = this.ready();
    // Queue ids of the batch's entries. A batch names a few distinct queues, so a linear scan of
    // those (no key string built per entry: that was 1/4 of this function's time in bench:store).
    const known: QueueState[] = [];
    const queueIds: number[] = [];
    for (const item of items) {
      for (const e of item.entries) {
        let q: QueueState | undefined;
        for (let k = 0; k < known.length; k++) {
          const c = known[k]!;
          if (c.priority === e.priority && c.endpointId === e.endpointId) {
            q = c;
            break;
          }
        }
        if (q === undefined) {
          q = this.byKey.get(keyOf(e.endpointId, e.priority));
          if (q === undefined) {
            q = { ...(await tables.ensureQueue(e.endpointId, e.priority)), length: 0 };
            this.track(q);
          }
          known.push(q);
        }
        queueIds.push(q.id);
      }
    }
    const messages: EncodedMessage[] = [];
    const entries: EncodedEntry[] = [];
    const offsets: number[] = new Array(items.length);
    let seq = this.nextSeq;
    let bytes = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      offsets[i] = seq;
      // A message no queue references would never be released: it is not stored at all.
      if (item.entries.length === 0) {
        seq++;
        continue;
      }
      const size = item.size ?? messageSize(item.message);
      bytes += size;
      messages.push({
        seq,
        enqueuedAt: item.enqueuedAt,
        size,
        refCount: item.entries.length,
        properties: JSON.stringify(item.message.properties),
        systemProperties: JSON.stringify(item.message.systemProperties),
        body: toBuffer(item.message.body),
      });
      for (const e of item.entries) entries.push({ queueId: queueIds[entries.length]!, seq, expiresAt: e.expiresAt });
      seq++;
    }
    this.nextSeq = seq;
    return { offsets, bytes, entries, committed: tables.append(messages, entries) };
  }

  private committed(write: PendingAppend): void {
    this.bytes += write.bytes;
    for (const e of write.entries) this.byId.get(e.queueId)!.length++;
  }

  private track(q: QueueState): void {
    this.byKey.set(keyOf(q.endpointId, q.priority), q);
    this.byId.set(q.id, q);
  }
}
