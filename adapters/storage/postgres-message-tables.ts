import type { DataSource, QueryRunner } from 'typeorm';
import type { EncodedEntry, EncodedMessage, EntryRow, LoadedState, MessageTables, QueueRow, RemovalResult } from './message-tables.js';

/** Rows per parameterized multi-row INSERT (7 parameters each, far below PostgreSQL's 65 535). */
const CHUNK = 500;

/** PostgreSQL `bigint` comes back as a string. */
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/**
 * PostgreSQL through TypeORM query runners with parameterized multi-row INSERTs. Writes are
 * serialized (one writer, like SQLite), which keeps offsets in commit order and rules out deadlocks
 * between checkpoints that release the same messages.
 */
export class PostgresMessageTables implements MessageTables {
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<LoadedState> {
    const queues = ((await this.dataSource.query('SELECT id, endpoint_id, priority, checkpoint FROM message_queues')) as Array<Record<string, unknown>>).map(
      (r) => ({ id: num(r['id']), endpointId: String(r['endpoint_id']), priority: num(r['priority']), checkpoint: num(r['checkpoint']) }),
    );
    const lengths = new Map<number, number>();
    for (const r of (await this.dataSource.query('SELECT queue_id, count(*) AS n FROM queue_entries GROUP BY queue_id')) as Array<Record<string, unknown>>) {
      lengths.set(num(r['queue_id']), num(r['n']));
    }
    const [totals] = (await this.dataSource.query(
      'SELECT coalesce(sum(size), 0) AS bytes, coalesce(max(seq), 0) AS max_seq FROM messages',
    )) as Array<Record<string, unknown>>;
    return { queues, lengths, usedBytes: num(totals?.['bytes'] ?? 0), maxSeq: num(totals?.['max_seq'] ?? 0) };
  }

  async ensureQueue(endpointId: string, priority: number): Promise<QueueRow> {
    return await this.serialized(async () => {
      await this.dataSource.query(
        'INSERT INTO message_queues (endpoint_id, priority, checkpoint) VALUES ($1, $2, 0) ON CONFLICT (endpoint_id, priority) DO NOTHING',
        [endpointId, priority],
      );
      const [r] = (await this.dataSource.query('SELECT id, checkpoint FROM message_queues WHERE endpoint_id = $1 AND priority = $2', [
        endpointId,
        priority,
      ])) as Array<Record<string, unknown>>;
      return { id: num(r?.['id']), endpointId, priority, checkpoint: num(r?.['checkpoint'] ?? 0) };
    });
  }

  async append(messages: readonly EncodedMessage[], entries: readonly EncodedEntry[]): Promise<void> {
    await this.transaction(async (qr) => {
      for (let i = 0; i < messages.length; i += CHUNK) {
        const slice = messages.slice(i, i + CHUNK);
        const params: unknown[] = [];
        const rows = slice.map((m, j) => {
          params.push(m.seq, m.enqueuedAt, m.size, m.refCount, m.properties, m.systemProperties, Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength));
          const b = j * 7;
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`;
        });
        await qr.query(
          `INSERT INTO messages (seq, enqueued_at, size, ref_count, properties, system_properties, body) VALUES ${rows.join(', ')}`,
          params,
        );
      }
      for (let i = 0; i < entries.length; i += CHUNK * 2) {
        const slice = entries.slice(i, i + CHUNK * 2);
        const params: unknown[] = [];
        const rows = slice.map((e, j) => {
          params.push(e.queueId, e.seq, e.expiresAt);
          const b = j * 3;
          return `($${b + 1}, $${b + 2}, $${b + 3})`;
        });
        await qr.query(`INSERT INTO queue_entries (queue_id, msg_seq, expires_at) VALUES ${rows.join(', ')}`, params);
      }
    });
  }

  async read(queueId: number, afterSeq: number, limit: number): Promise<EntryRow[]> {
    const rows = (await this.dataSource.query(
      `SELECT e.msg_seq, e.expires_at, m.enqueued_at, m.properties, m.system_properties, m.body
         FROM queue_entries e JOIN messages m ON m.seq = e.msg_seq
        WHERE e.queue_id = $1 AND e.msg_seq > $2 ORDER BY e.msg_seq LIMIT $3`,
      [queueId, afterSeq, limit],
    )) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      seq: num(r['msg_seq']),
      expiresAt: num(r['expires_at']),
      enqueuedAt: num(r['enqueued_at']),
      properties: String(r['properties']),
      systemProperties: String(r['system_properties']),
      body: r['body'] as Uint8Array,
    }));
  }

  async checkpoint(queueId: number, uptoSeq: number): Promise<RemovalResult> {
    return await this.transaction(async (qr) => {
      const result = await this.releaseWhere(qr, 'queue_id = $1 AND msg_seq <= $2', [queueId, uptoSeq]);
      await qr.query('UPDATE message_queues SET checkpoint = $1 WHERE id = $2 AND checkpoint < $1', [uptoSeq, queueId]);
      return result;
    });
  }

  async peekExpiries(queueId: number, afterSeq: number, limit: number): Promise<Array<{ seq: number; expiresAt: number }>> {
    const rows = (await this.dataSource.query(
      'SELECT msg_seq, expires_at FROM queue_entries WHERE queue_id = $1 AND msg_seq > $2 ORDER BY msg_seq LIMIT $3',
      [queueId, afterSeq, limit],
    )) as Array<Record<string, unknown>>;
    return rows.map((r) => ({ seq: num(r['msg_seq']), expiresAt: num(r['expires_at']) }));
  }

  async removeRange(queueId: number, afterSeq: number, uptoSeq: number): Promise<RemovalResult> {
    return await this.transaction((qr) => this.releaseWhere(qr, 'queue_id = $1 AND msg_seq > $2 AND msg_seq <= $3', [queueId, afterSeq, uptoSeq]));
  }

  async compact(): Promise<void> {
    // Deleted rows are reused by later inserts; autovacuum reclaims them. Nothing to do eagerly.
  }

  private async releaseWhere(qr: QueryRunner, where: string, params: unknown[]): Promise<RemovalResult> {
    const updated = (await qr.query(
      `WITH d AS (DELETE FROM queue_entries WHERE ${where} RETURNING msg_seq)
       UPDATE messages m SET ref_count = m.ref_count - 1 FROM d WHERE m.seq = d.msg_seq RETURNING m.seq, m.ref_count`,
      params,
      true,
    )) as { records: Array<Record<string, unknown>> };
    const dead = updated.records.filter((r) => num(r['ref_count']) <= 0).map((r) => String(r['seq']));
    let freedBytes = 0;
    if (dead.length > 0) {
      const deleted = (await qr.query('DELETE FROM messages WHERE seq = ANY($1::bigint[]) RETURNING size', [dead], true)) as {
        records: Array<Record<string, unknown>>;
      };
      for (const r of deleted.records) freedBytes += num(r['size']);
    }
    return { entries: updated.records.length, freedBytes };
  }

  private async transaction<T>(work: (qr: QueryRunner) => Promise<T>): Promise<T> {
    return await this.serialized(async () => {
      const qr = this.dataSource.createQueryRunner();
      await qr.connect();
      try {
        await qr.startTransaction();
        try {
          const result = await work(qr);
          await qr.commitTransaction();
          return result;
        } catch (error) {
          // When the connection died, TypeORM has released the runner and the rollback throws
          // "Query runner already released": the original error is the one that says why.
          await qr.rollbackTransaction().catch(() => undefined);
          throw connectionLost(error);
        }
      } finally {
        await qr.release().catch(() => undefined);
      }
    });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work);
    this.writes = run.catch(() => undefined);
    return run;
  }
}

/**
 * A statement or the commit after TypeORM released the runner (the connection died between two
 * statements): TypeORM's "Query runner already released" hides why, so it becomes a connection
 * failure (PostgreSQL's 08006), which the store reports as unavailable.
 */
function connectionLost(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== 'QueryRunnerAlreadyReleasedError') return error;
  return Object.assign(new Error('the connection to the PostgreSQL server was lost during the transaction'), { code: '08006' });
}
