import type { EncodedEntry, EncodedMessage } from './message-tables.js';

/** Requests from the main thread to the SQLite writer thread. */
export type WriterRequest =
  | { id: number; op: 'append'; meta: Float64Array; strings: string[]; bodies: ArrayBuffer; entries: Float64Array }
  | { id: number; op: 'checkpoint'; queueId: number; uptoSeq: number }
  | { id: number; op: 'removeRange'; queueId: number; afterSeq: number; uptoSeq: number }
  | { id: number; op: 'ensureQueue'; endpointId: string; priority: number }
  | { id: number; op: 'compact' }
  /** PASSIVE copies what it can without waiting for, or blocking, readers and writers; RESTART waits for writers and rewinds the WAL. */
  | { id: number; op: 'walCheckpoint'; mode: 'PASSIVE' | 'RESTART' }
  | { id: number; op: 'close' };

/** SQLite's answer to `PRAGMA wal_checkpoint`: frames in the WAL and frames copied to the database. */
export interface WalCheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** `bodies`: an append's body buffer, transferred back for the next pack to reuse (see `packAppend`). */
export type WriterResponse = { id: number; ok: true; result: unknown; bodies?: ArrayBuffer } | { id: number; ok: false; message: string; code?: string };

const META = 6;

/**
 * Packs a group commit into three transferable buffers: numbers, bodies back to back, entries.
 * One copy of the bodies; no per-message structured clone. `spare`: a body buffer the writer gave
 * back, used when large enough: a fresh one per batch cost more than the copy itself (its pages
 * are faulted in and zeroed, then freed on the writer thread: 0.2 - 2 us per 1 KB body, against
 * 0.03 - 0.1 us into a reused buffer).
 */
export function packAppend(
  messages: readonly EncodedMessage[],
  entries: readonly EncodedEntry[],
  spare?: ArrayBuffer,
): { meta: Float64Array; strings: string[]; bodies: ArrayBuffer; entries: Float64Array } {
  const meta = new Float64Array(messages.length * META);
  const strings: string[] = new Array(messages.length * 2);
  let total = 0;
  for (const m of messages) total += m.body.byteLength;
  // A fresh buffer is rounded up (to 64 KB) so that the next batches of about the same size fit in it.
  const bodies = new Uint8Array(spare !== undefined && spare.byteLength >= total ? spare : new ArrayBuffer(Math.ceil(total / 65536) * 65536));
  let offset = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const at = i * META;
    meta[at] = m.seq;
    meta[at + 1] = m.enqueuedAt;
    meta[at + 2] = m.size;
    meta[at + 3] = m.refCount;
    meta[at + 4] = offset;
    meta[at + 5] = m.body.byteLength;
    bodies.set(m.body, offset);
    offset += m.body.byteLength;
    strings[i * 2] = m.properties;
    strings[i * 2 + 1] = m.systemProperties;
  }
  const flat = new Float64Array(entries.length * 3);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    flat[i * 3] = e.queueId;
    flat[i * 3 + 1] = e.seq;
    flat[i * 3 + 2] = e.expiresAt;
  }
  return { meta, strings, bodies: bodies.buffer, entries: flat };
}

export function unpackAppend(req: { meta: Float64Array; strings: string[]; bodies: ArrayBuffer; entries: Float64Array }): {
  messages: EncodedMessage[];
  entries: EncodedEntry[];
} {
  const n = req.meta.length / META;
  const messages: EncodedMessage[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * META;
    messages[i] = {
      seq: req.meta[at]!,
      enqueuedAt: req.meta[at + 1]!,
      size: req.meta[at + 2]!,
      refCount: req.meta[at + 3]!,
      body: Buffer.from(req.bodies, req.meta[at + 4]!, req.meta[at + 5]!),
      properties: req.strings[i * 2]!,
      systemProperties: req.strings[i * 2 + 1]!,
    };
  }
  const m = req.entries.length / 3;
  const entries: EncodedEntry[] = new Array(m);
  for (let i = 0; i < m; i++) entries[i] = { queueId: req.entries[i * 3]!, seq: req.entries[i * 3 + 1]!, expiresAt: req.entries[i * 3 + 2]! };
  return { messages, entries };
}
