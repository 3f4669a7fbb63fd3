import { Worker } from 'node:worker_threads';
import type { EncodedEntry, EncodedMessage, EntryRow, LoadedState, MessageTables, QueueRow, RemovalResult } from './message-tables.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { SqliteMessageTables } from './sqlite-message-tables.js';
import { packAppend, type WalCheckpointResult, type WriterRequest, type WriterResponse } from './sqlite-writer-protocol.js';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void; write: boolean };
type Request = WriterRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Largest group commit written on the calling thread (when the writer is idle). */
const INLINE_MAX_MESSAGES = 32;
const INLINE_MAX_BYTES = 128 * 1024;
/** Largest checkpoint written on the calling thread, in offsets since the queue's last checkpoint. */
const INLINE_MAX_CHECKPOINT_SPAN = 64;
/** WAL pages written on the calling thread after which the writer checkpoints the WAL (SQLite's own default). */
const WAL_CHECKPOINT_PAGES = 1000;
const PAGE_BYTES = 4096;
/** WAL frames (pages) above which a PASSIVE checkpoint is followed by a RESTART one (32 MB, half of `journal_size_limit`). */
const WAL_RESTART_FRAMES = 8000;
/** Body buffers kept for reuse, and the largest kept (a group commit of 1 KB messages takes ~1 MB). */
const SPARE_BODIES = 2;
const SPARE_BODIES_MAX_BYTES = 2 * 1024 * 1024;
/**
 * The writer thread (a V8 isolate of its own, about 10 MB, and up to 16 MB of SQLite cache) stops
 * after this long without a request; the next one starts it again. Short enough that after a burst
 * it is gone well within a minute even when the store's 30 s sweep restarted it to compact.
 */
const WRITER_IDLE_MS = 10_000;
/** Inline appends closer together than this mean messages are flowing: the writer thread is started before a burst needs it. */
const FLOWING_MS = 100;

/**
 * SQLite with large writes on a writer thread (`sqlite-writer-worker.ts`) and reads on the main
 * thread's connection. Ingest then costs the main thread only the routing and a pack of each large
 * group commit.
 *
 * Small writes (a group commit of a few messages, a checkpoint of a few entries) run on the main
 * thread's connection when the writer thread is idle and `synchronous` is NORMAL: such a commit
 * takes tens of microseconds with no fsync, whereas the round trip to the writer thread waits for
 * that thread to be scheduled, which on a busy 2-core machine took several milliseconds (it was the
 * whole p99 of the hub benchmark, docs/mqtt-hub.md). Order is unchanged: a write runs inline only
 * when nothing is in flight on the writer, and inline writes complete before the call returns. The
 * main connection does no automatic WAL checkpoint (it would fsync on the event loop); the writer
 * checkpoints the WAL after every `WAL_CHECKPOINT_PAGES` inline pages (see `wrote`).
 * With `synchronous = FULL` every commit fsyncs, so every write goes to the writer thread.
 */
export class SqliteWorkerMessageTables implements MessageTables {
  /** `append` commits inline, or posts to the writer thread (which commits in arrival order), before it returns. */
  readonly pipelined = true;
  private readonly reader: SqliteMessageTables;
  /** Started on the first request it must run (an idle hub with small commits never starts it: memory). */
  private worker: Worker | null = null;
  private readonly workerData: { path: string; synchronous: 'NORMAL' | 'FULL' };
  private readonly pending = new Map<number, Pending>();
  /** Body buffers the writer gave back, for the next packs (`packAppend`); dropped when the writer stops. */
  private readonly spareBodies: ArrayBuffer[] = [];
  private nextId = 1;
  private failure: Error | null = null;
  private readonly inline: boolean;
  /** Write requests (everything but PASSIVE WAL checkpoints) in flight on the writer thread. */
  private writesInFlight = 0;
  /** Last checkpoint per queue id, to size checkpoints before choosing where they run. */
  private readonly checkpoints = new Map<number, number>();
  /** Estimated WAL pages written inline since the last WAL checkpoint request. */
  private inlinePages = 0;
  private walCheckpointing = false;
  private idleTimer: NodeJS.Timeout | null = null;
  /** `close()` was called: no idle timer may touch the connection any more. */
  private closed = false;
  /** When the last append came (`performance.now()`), to tell a flow of messages from a trickle. */
  private lastAppendAt = Number.NEGATIVE_INFINITY;
  /** Something was written since the last `compact` (an idle hub's periodic sweep then needs no writer thread). */
  private dirty = false;
  private readonly db: SqliteDatabase;

  private readonly writerIdleMs: number;

  /** `options.writerIdleMs`: how long the writer thread may go without a request before it stops (default 10 s). */
  constructor(db: SqliteDatabase, path: string, synchronous: 'NORMAL' | 'FULL', options: { writerIdleMs?: number } = {}) {
    this.writerIdleMs = options.writerIdleMs ?? WRITER_IDLE_MS;
    this.db = db;
    this.reader = new SqliteMessageTables(db);
    this.inline = synchronous === 'NORMAL';
    if (this.inline) db.pragma('wal_autocheckpoint = 0');
    this.workerData = { path, synchronous };
  }

  async load(): Promise<LoadedState> {
    const state = await this.reader.load();
    for (const q of state.queues) this.checkpoints.set(q.id, q.checkpoint);
    return state;
  }

  async ensureQueue(endpointId: string, priority: number): Promise<QueueRow> {
    // Inline when possible: the first message of a new queue should not wait for a cold writer thread.
    const inline = this.canRunInline();
    const row = inline ? await this.reader.ensureQueue(endpointId, priority) : ((await this.request({ op: 'ensureQueue', endpointId, priority })) as QueueRow);
    if (inline) this.dirty = true;
    this.checkpoints.set(row.id, row.checkpoint);
    return row;
  }

  async append(messages: readonly EncodedMessage[], entries: readonly EncodedEntry[]): Promise<void> {
    // Messages are flowing (a group of several, or appends in quick succession): start the writer
    // thread now, in the background, before a burst needs it. A trickle leaves it stopped.
    const now = performance.now();
    const flowing = messages.length > 1 || now - this.lastAppendAt < FLOWING_MS;
    this.lastAppendAt = now;
    if (flowing && this.worker === null && this.failure === null) this.idleAfter(this.writer());
    if (this.canRunInline() && messages.length <= INLINE_MAX_MESSAGES) {
      let bytes = 0;
      for (const m of messages) bytes += m.body.byteLength + m.properties.length + m.systemProperties.length;
      if (bytes <= INLINE_MAX_BYTES) {
        await this.reader.append(messages, entries);
        this.wrote(2 + Math.ceil(bytes / PAGE_BYTES));
        return;
      }
    }
    const packed = packAppend(messages, entries, this.spareBodies.pop());
    await this.request({ op: 'append', ...packed }, [packed.meta.buffer as ArrayBuffer, packed.bodies, packed.entries.buffer as ArrayBuffer]);
  }

  read(queueId: number, afterSeq: number, limit: number): Promise<EntryRow[]> {
    return this.reader.read(queueId, afterSeq, limit);
  }

  async checkpoint(queueId: number, uptoSeq: number): Promise<RemovalResult> {
    const last = this.checkpoints.get(queueId);
    let result: RemovalResult;
    if (last !== undefined && uptoSeq - last <= INLINE_MAX_CHECKPOINT_SPAN && this.canRunInline()) {
      result = await this.reader.checkpoint(queueId, uptoSeq);
      this.wrote(3);
    } else {
      result = (await this.request({ op: 'checkpoint', queueId, uptoSeq })) as RemovalResult;
    }
    if (uptoSeq > (last ?? 0)) this.checkpoints.set(queueId, uptoSeq);
    return result;
  }

  peekExpiries(queueId: number, afterSeq: number, limit: number): Promise<Array<{ seq: number; expiresAt: number }>> {
    return this.reader.peekExpiries(queueId, afterSeq, limit);
  }

  async removeRange(queueId: number, afterSeq: number, uptoSeq: number): Promise<RemovalResult> {
    return (await this.request({ op: 'removeRange', queueId, afterSeq, uptoSeq })) as RemovalResult;
  }

  async compact(): Promise<void> {
    // Nothing written since the last compaction and no free pages: nothing to give back.
    if (!this.dirty && this.db.pragma('freelist_count', { simple: true }) === 0) return;
    this.dirty = false;
    await this.request({ op: 'compact' });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearIdle();
    if (this.failure !== null || this.worker === null) return;
    const worker = this.worker;
    await this.request({ op: 'close' });
    this.worker = null;
    await worker.terminate();
  }

  /** The writer thread, started on first use. */
  private writer(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(new URL('./sqlite-writer-worker.js', import.meta.url), { workerData: this.workerData });
    this.worker = worker;
    worker.unref();
    worker.on('message', (res: WriterResponse) => {
      const p = this.pending.get(res.id);
      if (p === undefined) return;
      this.pending.delete(res.id);
      if (p.write) this.writesInFlight--;
      if (this.pending.size === 0) {
        worker.unref();
        this.idleAfter(worker);
      }
      if (res.ok && res.bodies !== undefined && res.bodies.byteLength <= SPARE_BODIES_MAX_BYTES && this.spareBodies.length < SPARE_BODIES) this.spareBodies.push(res.bodies);
      if (res.ok) p.resolve(res.result);
      else p.reject(Object.assign(new Error(res.message), res.code === undefined ? {} : { code: res.code }));
    });
    const fail = (error: Error): void => {
      this.failure = new Error(`SQLite writer thread stopped: ${error.message}`);
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
      this.writesInFlight = 0;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.failure === null) fail(new Error(`exit code ${code}`));
    });
    return worker;
  }

  /** The writer thread is running (diagnostics and tests). */
  get writerRunning(): boolean {
    return this.worker !== null;
  }

  /** A timer will stop the writer thread when it stays idle (diagnostics and tests). */
  get idleTimerArmed(): boolean {
    return this.idleTimer !== null;
  }

  /**
   * Stops `worker` once it had no request for `WRITER_IDLE_MS` (its writes are all done: nothing is
   * pending). The store is quiet then: the main connection gives back its page cache too (filled by
   * the pump's reads of a backlog; `shrink_memory` frees what no statement holds).
   */
  private idleAfter(worker: Worker): void {
    this.clearIdle();
    // Closing: the close request's own reply must not arm a timer that outlives the connection.
    if (this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.closed || this.worker !== worker || this.pending.size > 0) return;
      this.worker = null;
      this.spareBodies.length = 0;
      worker.removeAllListeners('exit');
      worker.removeAllListeners('error');
      worker.postMessage({ op: 'close', id: 0 });
      try {
        this.db.pragma('shrink_memory');
      } catch {
        // Best effort: a connection closed without close() (a failed start) has no cache to give back.
      }
    }, this.writerIdleMs);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer === null) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Nothing is being written on the writer thread, so the main connection can take the write lock at once. */
  private canRunInline(): boolean {
    return this.inline && this.writesInFlight === 0 && this.failure === null;
  }

  /**
   * Counts `pages` written inline; every `WAL_CHECKPOINT_PAGES` the writer runs a PASSIVE WAL
   * checkpoint, which never blocks writers. While writes go on, a PASSIVE checkpoint never catches
   * up with the end of the WAL, so the WAL never rewinds and keeps growing: when it holds more than
   * `WAL_RESTART_FRAMES`, a RESTART checkpoint follows. That one waits for writers, so it counts as a
   * write: writes queue behind it on the writer thread until it is done (milliseconds).
   */
  private wrote(pages: number): void {
    this.dirty = true;
    this.inlinePages += pages;
    if (this.inlinePages < WAL_CHECKPOINT_PAGES || this.walCheckpointing) return;
    this.inlinePages = 0;
    this.walCheckpointing = true;
    void this.request({ op: 'walCheckpoint', mode: 'PASSIVE' })
      .then(async (result) => {
        if ((result as WalCheckpointResult).log > WAL_RESTART_FRAMES) await this.request({ op: 'walCheckpoint', mode: 'RESTART' });
      })
      .catch(() => undefined)
      .finally(() => {
        this.walCheckpointing = false;
      });
  }

  private request(req: Request, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    const write = !(req.op === 'walCheckpoint' && req.mode === 'PASSIVE');
    if (write) this.writesInFlight++;
    if (req.op !== 'compact' && req.op !== 'walCheckpoint') this.dirty = true;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, write });
      // Keep the process alive while a write is in flight, not while the writer idles.
      this.clearIdle();
      const worker = this.writer();
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ ...req, id }, transfer);
    });
  }
}
