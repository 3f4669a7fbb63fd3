import { injectable } from 'inversify';
import { messageSize, type Message } from '../../domain/messages/message.js';
import type { QueueKey } from '../../domain/messages/store-and-forward.js';
import { MessageStore, type AppendItem, type QueueInfo, type QueuedMessage } from '../../application/ports/message-store.js';

interface Row {
  message: Message;
  enqueuedAt: number;
  size: number;
  refs: number;
}

interface Queue {
  info: QueueInfo;
  /** Entries in offset order: [offset, expiresAt]. */
  entries: Array<{ offset: number; expiresAt: number }>;
}

/** A non-durable store (`usePersistentStorage: false`, unit tests). Same contract as the TypeORM store. */
@injectable()
export class InMemoryMessageStore extends MessageStore {
  private readonly messages = new Map<number, Row>();
  private readonly byKey = new Map<string, Queue>();
  private nextOffset = 1;
  private bytes = 0;

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async append(items: readonly AppendItem[]): Promise<number[]> {
    const offsets: number[] = [];
    for (const item of items) {
      const offset = this.nextOffset++;
      const size = messageSize(item.message);
      this.messages.set(offset, { message: item.message, enqueuedAt: item.enqueuedAt, size, refs: item.entries.length });
      this.bytes += size;
      for (const e of item.entries) {
        const q = this.queue(e);
        q.entries.push({ offset, expiresAt: e.expiresAt });
        q.info.length++;
      }
      offsets.push(offset);
    }
    return offsets;
  }

  async read(key: QueueKey, afterOffset: number, limit: number): Promise<QueuedMessage[]> {
    const q = this.byKey.get(this.keyOf(key));
    if (q === undefined) return [];
    const out: QueuedMessage[] = [];
    for (const e of q.entries) {
      if (e.offset <= afterOffset) continue;
      if (out.length >= limit) break;
      const row = this.messages.get(e.offset);
      if (row !== undefined) out.push({ offset: e.offset, expiresAt: e.expiresAt, enqueuedAt: row.enqueuedAt, message: row.message });
    }
    return out;
  }

  async checkpoint(key: QueueKey, offset: number): Promise<void> {
    const q = this.queue(key);
    if (offset <= q.info.checkpoint) return;
    q.info.checkpoint = offset;
    let n = 0;
    while (n < q.entries.length && q.entries[n]!.offset <= offset) this.release(q.entries[n++]!.offset);
    q.entries.splice(0, n);
    q.info.length -= n;
  }

  async removeExpired(key: QueueKey, afterOffset: number, now: number, maxScan = 100_000): Promise<number> {
    const q = this.byKey.get(this.keyOf(key));
    if (q === undefined) return 0;
    let removed = 0;
    let scanned = 0;
    for (let i = 0; i < q.entries.length && scanned < maxScan; ) {
      const e = q.entries[i]!;
      if (e.offset <= afterOffset) {
        i++;
        continue;
      }
      scanned++;
      if (e.expiresAt > now) break;
      this.release(e.offset);
      q.entries.splice(i, 1);
      q.info.length--;
      removed++;
    }
    return removed;
  }

  queues(): QueueInfo[] {
    return [...this.byKey.values()].map((q) => ({ ...q.info }));
  }

  usedBytes(): number {
    return this.bytes;
  }

  async compact(): Promise<void> {}

  private release(offset: number): void {
    const row = this.messages.get(offset);
    if (row === undefined) return;
    if (--row.refs <= 0) {
      this.messages.delete(offset);
      this.bytes -= row.size;
    }
  }

  private keyOf(key: QueueKey): string {
    return `${key.priority}\u0000${key.endpointId}`;
  }

  private queue(key: QueueKey): Queue {
    const k = this.keyOf(key);
    let q = this.byKey.get(k);
    if (q === undefined) {
      q = { info: { endpointId: key.endpointId, priority: key.priority, length: 0, checkpoint: 0 }, entries: [] };
      this.byKey.set(k, q);
    }
    return q;
  }
}
