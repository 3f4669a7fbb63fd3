/** Dialect-specific SQL behind `SqlMessageStore` (one implementation per database). */
export interface QueueRow {
  id: number;
  endpointId: string;
  priority: number;
  checkpoint: number;
}

export interface LoadedState {
  queues: QueueRow[];
  lengths: Map<number, number>;
  usedBytes: number;
  maxSeq: number;
}

export interface EncodedMessage {
  seq: number;
  enqueuedAt: number;
  size: number;
  refCount: number;
  properties: string;
  systemProperties: string;
  body: Uint8Array;
}

export interface EncodedEntry {
  queueId: number;
  seq: number;
  expiresAt: number;
}

export interface EntryRow {
  seq: number;
  expiresAt: number;
  enqueuedAt: number;
  properties: string;
  systemProperties: string;
  body: Uint8Array;
}

export interface RemovalResult {
  entries: number;
  freedBytes: number;
}

export interface MessageTables {
  /**
   * True when `append` fixes the write's place in commit order before it returns (it runs at once,
   * or is queued on a writer thread that commits in arrival order), so the next `append` may be
   * called before this one resolves. Otherwise (PostgreSQL) the caller waits for each commit.
   */
  readonly pipelined?: boolean;
  load(): Promise<LoadedState>;
  ensureQueue(endpointId: string, priority: number): Promise<QueueRow>;
  /** One transaction: all messages then all entries. */
  append(messages: readonly EncodedMessage[], entries: readonly EncodedEntry[]): Promise<void>;
  read(queueId: number, afterSeq: number, limit: number): Promise<EntryRow[]>;
  /** One transaction: removes entries <= `uptoSeq`, releases their messages, records the checkpoint. */
  checkpoint(queueId: number, uptoSeq: number): Promise<RemovalResult>;
  /** Offsets and expiries after `afterSeq`, in order. */
  peekExpiries(queueId: number, afterSeq: number, limit: number): Promise<Array<{ seq: number; expiresAt: number }>>;
  /** One transaction: removes entries in (`afterSeq`, `uptoSeq`] and releases their messages. */
  removeRange(queueId: number, afterSeq: number, uptoSeq: number): Promise<RemovalResult>;
  compact(): Promise<void>;
  /** Releases resources of its own (a writer thread); the DataSource is closed by its owner. */
  close?(): Promise<void>;
}
