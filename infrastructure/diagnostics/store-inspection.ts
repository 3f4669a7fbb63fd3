import { existsSync } from 'node:fs';
import type { SqliteDatabase } from '../../adapters/storage/sqlite-database.js';
import type { EdgeportConfig } from '../config/load-config.js';

// The packages ship no types here: the parts used, as the storage adapter does (sqlite-database.ts).
type SqliteConstructor = new (path: string, options: { readonly: boolean; fileMustExist: boolean; timeout: number }) => SqliteDatabase & { close(): void };
interface PgClient {
  connect(): Promise<void>;
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
}
type PgClientConstructor = new (options: { connectionString: string; connectionTimeoutMillis: number }) => PgClient;

/** Imports a package by a name TypeScript does not resolve (it has no declarations for it). */
async function untypedImport<T>(name: string): Promise<T> {
  return ((await import(name)) as { default: T }).default;
}

/** One store-and-forward queue as the database holds it. */
export interface QueueHealth {
  endpoint: string;
  priority: number;
  /** Entries not yet delivered (or expired). */
  length: number;
  /** When the oldest undelivered entry was stored (epoch ms); undefined for an empty queue. */
  oldestEnqueuedAt?: number;
}

/** What `edgeport check` and the support bundle read from the database, read-only. */
export interface StoreInspection {
  /** Bytes of stored messages (what `hub.storeAndForward.maxBytes` limits). */
  usedBytes: number;
  queues: QueueHealth[];
  /** The stored twin of `<deviceId>/$edgeAgent` (`{desired, reported}`), when there is one. */
  edgeAgentTwin?: { desired?: Record<string, unknown>; reported?: Record<string, unknown> };
}

const USED_BYTES = 'SELECT COALESCE(SUM(size), 0) AS used FROM messages';
const QUEUES =
  'SELECT q.endpoint_id AS endpoint, q.priority AS priority, COUNT(e.msg_seq) AS length, MIN(m.enqueued_at) AS oldest ' +
  'FROM message_queues q LEFT JOIN queue_entries e ON e.queue_id = q.id LEFT JOIN messages m ON m.seq = e.msg_seq ' +
  'GROUP BY q.id, q.endpoint_id, q.priority ORDER BY q.endpoint_id, q.priority';
const TWIN = "SELECT value FROM state_entries WHERE namespace = 'twins' AND key = ";

interface QueueRow {
  endpoint: string;
  priority: number | string;
  length: number | string;
  oldest: number | string | null;
}

function toInspection(used: number | string, rows: readonly QueueRow[], twin: string | undefined): StoreInspection {
  const inspection: StoreInspection = {
    usedBytes: Number(used),
    queues: rows.map((r) => ({ endpoint: r.endpoint, priority: Number(r.priority), length: Number(r.length), ...(r.oldest !== null ? { oldestEnqueuedAt: Number(r.oldest) } : {}) })),
  };
  if (twin !== undefined) {
    try {
      inspection.edgeAgentTwin = JSON.parse(twin) as StoreInspection['edgeAgentTwin'] & object;
    } catch {
      // an unreadable twin is reported as none
    }
  }
  return inspection;
}

/**
 * Reads the store without changing it: SQLite opened read-only (alongside a running runtime: WAL
 * allows concurrent readers), PostgreSQL through one short client. Resolves `undefined` when the
 * database does not exist yet (no runtime has run with this configuration).
 */
export async function inspectStore(config: EdgeportConfig): Promise<StoreInspection | undefined> {
  const twinKey = `${config.deviceId}/$edgeAgent`;
  if (config.storage.kind === 'sqlite') {
    if (!existsSync(config.storage.path)) return undefined;
    const Database = await untypedImport<SqliteConstructor>('better-sqlite3');
    const db = new Database(config.storage.path, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      const hasTables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('messages', 'message_queues', 'queue_entries', 'state_entries')").get() as { n: number };
      if (hasTables.n < 4) return undefined;
      const used = (db.prepare(USED_BYTES).get() as { used: number }).used;
      const rows = db.prepare(QUEUES).all() as QueueRow[];
      const twin = db.prepare(`${TWIN}?`).get(twinKey) as { value: string } | undefined;
      return toInspection(used, rows, twin?.value);
    } finally {
      db.close();
    }
  }
  const { Client } = await untypedImport<{ Client: PgClientConstructor }>('pg');
  const client = new Client({ connectionString: config.storage.url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const tables = await client.query<{ n: string }>("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('messages', 'message_queues', 'queue_entries', 'state_entries')");
    if (Number(tables.rows[0]?.n ?? 0) < 4) return undefined;
    const used = (await client.query<{ used: string }>(USED_BYTES)).rows[0]?.used ?? 0;
    const rows = (await client.query<QueueRow>(QUEUES)).rows;
    const twin = (await client.query<{ value: string }>(`${TWIN}$1`, [twinKey])).rows[0]?.value;
    return toInspection(used, rows, twin);
  } finally {
    await client.end();
  }
}
