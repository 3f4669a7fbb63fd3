import type { SqliteDatabase, SqliteStatement } from './sqlite-database.js';
import type { EncodedEntry, EncodedMessage, EntryRow, LoadedState, MessageTables, QueueRow, RemovalResult } from './message-tables.js';

/** Queue entries a checkpoint removes: (queue id, up to offset). */
const UPTO = 'queue_id = ? AND msg_seq <= ?';
/** Queue entries an expiry removal removes: (queue id, after offset, up to offset). */
const BETWEEN = 'queue_id = ? AND msg_seq > ? AND msg_seq <= ?';
/** Rows per multi-row INSERT statement (7 parameters per message row, far below SQLite's limit). */
const CHUNK = 64;
/** Pages freed per incremental-vacuum step (16 MB with 4 KB pages). */
const VACUUM_STEP_PAGES = 4096;
/**
 * The vacuum gives free pages back only when the pages in use are at most this many (16 MB with
 * 4 KB pages) or at most 1/`VACUUM_FREE_PER_LIVE` of the free ones. Incremental vacuum truncates the
 * file by moving the live pages at its end into free slots nearer the start: in the middle of a
 * large backlog's drain that moved the undelivered messages (bench:scale, 1 000 000 queued: one
 * sweep took 11 s and 6 s of CPU, the drain ran at a third of its rate meanwhile) only for them to
 * be deleted moments later. With the rule, a sweep moves at most an eighth of what it gives back.
 */
export const VACUUM_LIVE_PAGES = 4096;
export const VACUUM_FREE_PER_LIVE = 8;

/** Whether a vacuum is worth what it moves (see `VACUUM_LIVE_PAGES`). */
export function vacuumPays(pageCount: number, freePages: number): boolean {
  const live = pageCount - freePages;
  return freePages > 0 && (live <= VACUUM_LIVE_PAGES || live * VACUUM_FREE_PER_LIVE <= freePages);
}

/**
 * SQLite through better-sqlite3's synchronous API with cached prepared statements: a group commit is
 * a handful of multi-row INSERTs in one transaction, with no event-loop turns inside.
 */
export class SqliteMessageTables implements MessageTables {
  /** `append` commits before it returns. */
  readonly pipelined = true;
  private readonly stmts = new Map<string, SqliteStatement>();
  private readonly appendTx: (messages: readonly EncodedMessage[], entries: readonly EncodedEntry[]) => void;
  private readonly checkpointTx: (queueId: number, uptoSeq: number) => RemovalResult;
  private readonly removeRangeTx: (queueId: number, afterSeq: number, uptoSeq: number) => RemovalResult;

  constructor(private readonly db: SqliteDatabase) {
    this.appendTx = db.transaction((messages: readonly EncodedMessage[], entries: readonly EncodedEntry[]) => {
      this.insertMessages(messages);
      this.insertEntries(entries);
    });
    this.checkpointTx = db.transaction((queueId: number, uptoSeq: number) => {
      const removed = this.release(UPTO, queueId, uptoSeq);
      this.stmt('UPDATE message_queues SET checkpoint = ? WHERE id = ? AND checkpoint < ?').run(uptoSeq, queueId, uptoSeq);
      return removed;
    });
    this.removeRangeTx = db.transaction((queueId: number, afterSeq: number, uptoSeq: number) => this.release(BETWEEN, queueId, afterSeq, uptoSeq));
  }

  async load(): Promise<LoadedState> {
    const queues = (this.stmt('SELECT id, endpoint_id, priority, checkpoint FROM message_queues').all() as Array<{
      id: number;
      endpoint_id: string;
      priority: number;
      checkpoint: number;
    }>).map((r) => ({ id: r.id, endpointId: r.endpoint_id, priority: r.priority, checkpoint: r.checkpoint }));
    const lengths = new Map<number, number>();
    for (const r of this.stmt('SELECT queue_id, count(*) AS n FROM queue_entries GROUP BY queue_id').all() as Array<{ queue_id: number; n: number }>) {
      lengths.set(r.queue_id, r.n);
    }
    const totals = this.stmt('SELECT coalesce(sum(size), 0) AS bytes, coalesce(max(seq), 0) AS max_seq FROM messages').get() as {
      bytes: number;
      max_seq: number;
    };
    return { queues, lengths, usedBytes: totals.bytes, maxSeq: totals.max_seq };
  }

  async ensureQueue(endpointId: string, priority: number): Promise<QueueRow> {
    this.stmt('INSERT INTO message_queues (endpoint_id, priority, checkpoint) VALUES (?, ?, 0) ON CONFLICT (endpoint_id, priority) DO NOTHING').run(
      endpointId,
      priority,
    );
    const r = this.stmt('SELECT id, checkpoint FROM message_queues WHERE endpoint_id = ? AND priority = ?').get(endpointId, priority) as {
      id: number;
      checkpoint: number;
    };
    return { id: r.id, endpointId, priority, checkpoint: r.checkpoint };
  }

  async append(messages: readonly EncodedMessage[], entries: readonly EncodedEntry[]): Promise<void> {
    this.appendTx(messages, entries);
  }

  async read(queueId: number, afterSeq: number, limit: number): Promise<EntryRow[]> {
    const rows = this.stmt(
      `SELECT e.msg_seq AS seq, e.expires_at AS expiresAt, m.enqueued_at AS enqueuedAt, m.properties AS properties,
              m.system_properties AS systemProperties, m.body AS body
         FROM queue_entries e JOIN messages m ON m.seq = e.msg_seq
        WHERE e.queue_id = ? AND e.msg_seq > ? ORDER BY e.msg_seq LIMIT ?`,
    ).all(queueId, afterSeq, limit);
    return rows as EntryRow[];
  }

  async checkpoint(queueId: number, uptoSeq: number): Promise<RemovalResult> {
    return this.checkpointTx(queueId, uptoSeq);
  }

  async peekExpiries(queueId: number, afterSeq: number, limit: number): Promise<Array<{ seq: number; expiresAt: number }>> {
    return this.stmt('SELECT msg_seq AS seq, expires_at AS expiresAt FROM queue_entries WHERE queue_id = ? AND msg_seq > ? ORDER BY msg_seq LIMIT ?').all(
      queueId,
      afterSeq,
      limit,
    ) as Array<{ seq: number; expiresAt: number }>;
  }

  async removeRange(queueId: number, afterSeq: number, uptoSeq: number): Promise<RemovalResult> {
    return this.removeRangeTx(queueId, afterSeq, uptoSeq);
  }

  async compact(): Promise<void> {
    // Gives free pages back to the file system (the file was created with auto_vacuum=INCREMENTAL),
    // then truncates the WAL, so the files track the backlog rather than history. Bounded steps with
    // event-loop turns in between: after a long outage gigabytes may be free. Skipped while many
    // pages are still in use (a backlog being drained): it would move them (`vacuumPays`).
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const freeAtStart = this.db.pragma('freelist_count', { simple: true }) as number;
    for (let step = 0; step < 10_000 && vacuumPays(pages, freeAtStart); step++) {
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free === 0) break;
      this.db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * Removes the queue entries `where` selects (`queue_id` and a `msg_seq` range, `params` in order),
   * decrements their messages' reference counts and deletes the messages no queue references any
   * more: four statements however many entries (each one index range scan, with a lookup by primary
   * key per entry), where it was an UPDATE per entry and a DELETE per freed message (CPU per entry
   * in checkpoints of 100: 5.3 - 9.0 us, was 7.7 - 12.4 us; docs/performance.md). A message has at
   * most one entry per queue (primary key), so `seq IN (...)` decrements it once per queue.
   */
  private release(where: string, ...params: number[]): RemovalResult {
    const entries = `SELECT msg_seq FROM queue_entries WHERE ${where}`;
    this.stmt(`UPDATE messages SET ref_count = ref_count - 1 WHERE seq IN (${entries})`).run(...params);
    const freed = this.stmt(`SELECT coalesce(sum(size), 0) AS bytes FROM messages WHERE seq IN (${entries}) AND ref_count <= 0`).get(...params) as { bytes: number };
    this.stmt(`DELETE FROM messages WHERE seq IN (${entries}) AND ref_count <= 0`).run(...params);
    const removed = this.stmt(`DELETE FROM queue_entries WHERE ${where}`).run(...params);
    return { entries: removed.changes, freedBytes: freed.bytes };
  }

  private insertMessages(messages: readonly EncodedMessage[]): void {
    let i = 0;
    const full = this.stmt(this.insertSql('messages', '(seq, enqueued_at, size, ref_count, properties, system_properties, body)', 7, CHUNK));
    const params: unknown[] = new Array(7 * CHUNK);
    for (; i + CHUNK <= messages.length; i += CHUNK) {
      for (let j = 0; j < CHUNK; j++) this.putMessage(params, j * 7, messages[i + j]!);
      full.run(params);
    }
    const rest = messages.length - i;
    if (rest > 0) {
      const stmt = this.stmt(this.insertSql('messages', '(seq, enqueued_at, size, ref_count, properties, system_properties, body)', 7, rest));
      const p: unknown[] = new Array(7 * rest);
      for (let j = 0; j < rest; j++) this.putMessage(p, j * 7, messages[i + j]!);
      stmt.run(p);
    }
  }

  private putMessage(p: unknown[], at: number, m: EncodedMessage): void {
    p[at] = m.seq;
    p[at + 1] = m.enqueuedAt;
    p[at + 2] = m.size;
    p[at + 3] = m.refCount;
    p[at + 4] = m.properties;
    p[at + 5] = m.systemProperties;
    p[at + 6] = m.body;
  }

  private insertEntries(entries: readonly EncodedEntry[]): void {
    const chunk = CHUNK * 2;
    let i = 0;
    const full = this.stmt(this.insertSql('queue_entries', '(queue_id, msg_seq, expires_at)', 3, chunk));
    const params: unknown[] = new Array(3 * chunk);
    for (; i + chunk <= entries.length; i += chunk) {
      for (let j = 0; j < chunk; j++) {
        const e = entries[i + j]!;
        params[j * 3] = e.queueId;
        params[j * 3 + 1] = e.seq;
        params[j * 3 + 2] = e.expiresAt;
      }
      full.run(params);
    }
    const rest = entries.length - i;
    if (rest > 0) {
      const p: unknown[] = new Array(3 * rest);
      for (let j = 0; j < rest; j++) {
        const e = entries[i + j]!;
        p[j * 3] = e.queueId;
        p[j * 3 + 1] = e.seq;
        p[j * 3 + 2] = e.expiresAt;
      }
      this.stmt(this.insertSql('queue_entries', '(queue_id, msg_seq, expires_at)', 3, rest)).run(p);
    }
  }

  private insertSql(table: string, columns: string, width: number, rows: number): string {
    const row = `(${new Array(width).fill('?').join(', ')})`;
    return `INSERT INTO ${table} ${columns} VALUES ${new Array(rows).fill(row).join(', ')}`;
  }

  private stmt(sql: string): SqliteStatement {
    let s = this.stmts.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }
}
