import type { Message } from '../../domain/messages/message.js';
import type { QueueKey } from '../../domain/messages/store-and-forward.js';

/** One queue entry to create with a message: the message goes to `endpointId` at `priority`. */
export interface NewQueueEntry extends QueueKey {
  /** Epoch ms after which the entry is dropped instead of delivered. */
  expiresAt: number;
}

/** A message and every queue entry it gets, written atomically together. */
export interface AppendItem {
  message: Message;
  enqueuedAt: number;
  entries: readonly NewQueueEntry[];
  /** `messageSize(message)` if the caller already computed it. */
  size?: number;
}

/** A queue entry read back with its message. `offset` grows with commit order, across all queues. */
export interface QueuedMessage {
  offset: number;
  expiresAt: number;
  enqueuedAt: number;
  message: Message;
}

export interface QueueInfo extends QueueKey {
  /** Entries not yet checkpointed. */
  length: number;
  /** Highest offset checkpointed (delivered, dropped or expired); 0 if none. */
  checkpoint: number;
}

/** Thrown by ingest when storing the message would exceed the store limit; the sender gets the error. */
export class StoreFullError extends Error {
  readonly code = 'STORE_FULL';
  constructor(readonly usedBytes: number, readonly limitBytes: number) {
    super(
      `message store is full (${usedBytes} of ${limitBytes} bytes used): the message was refused and nothing stored was dropped; ` +
        'wait for the backlog to drain (is the upstream or a module offline?) or raise hub.storeAndForward.maxBytes',
    );
    this.name = 'StoreFullError';
  }
}

/**
 * Thrown by the store when the file system (or database server) under it has no space left. Like
 * `StoreFullError` the sender is refused and nothing stored is lost; writes succeed again as soon as
 * space returns, without a restart. `location` names the data directory or database.
 */
export class DiskFullError extends Error {
  readonly code = 'DISK_FULL';
  constructor(readonly location: string, override readonly cause?: unknown) {
    super(
      `disk full: no space left for the message store in ${location}: the message was refused and nothing stored was dropped; ` +
        'free space there (writes resume by themselves) or move dataDir / storage.path to a larger file system',
    );
    this.name = 'DiskFullError';
  }
}

/**
 * Thrown by the store when its database server cannot be reached (stopped, restarting, network):
 * the sender is refused, nothing stored is lost, and writes succeed again once it answers.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(readonly location: string, override readonly cause?: unknown) {
    super(
      `message store unavailable: ${location} does not answer (${cause instanceof Error ? cause.message : String(cause)}): ` +
        'the message was refused and nothing stored was dropped; ingest resumes by itself once the database answers',
    );
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Durable store-and-forward storage: a message table plus one ordered queue per (endpoint, priority).
 * Counters (`usedBytes`, `queues()` lengths) are kept in memory by the adapter and are cheap.
 */
export abstract class MessageStore {
  /** Prepares the store (schema migrated, counters loaded). Idempotent. */
  abstract open(): Promise<void>;
  /** Releases the store; pending calls finish first. */
  abstract close(): Promise<void>;
  /**
   * Writes the messages and their queue entries in ONE transaction, in order; resolves after commit
   * with the offset given to each message. All or nothing.
   */
  abstract append(items: readonly AppendItem[]): Promise<number[]>;
  /** Up to `limit` entries of a queue with offset > `afterOffset`, in offset order (one page). */
  abstract read(queue: QueueKey, afterOffset: number, limit: number): Promise<QueuedMessage[]>;
  /**
   * Marks every entry of the queue with offset <= `offset` as done and removes it; messages no other
   * queue references are deleted in the same transaction. Lower offsets than the current checkpoint are ignored.
   */
  abstract checkpoint(queue: QueueKey, offset: number): Promise<void>;
  /**
   * Removes the queue's leading entries after `afterOffset` whose expiry is <= `now` (stops at the
   * first live one, scanning at most `maxScan` entries); resolves with how many were removed.
   */
  abstract removeExpired(queue: QueueKey, afterOffset: number, now: number, maxScan?: number): Promise<number>;
  /** Every known queue with its length and checkpoint. */
  abstract queues(): QueueInfo[];
  /** Bytes held by stored messages (body + serialized properties). */
  abstract usedBytes(): number;
  /** Gives freed space back to the file system where the database supports it (SQLite). */
  abstract compact(): Promise<void>;
}
