import { inject, injectable } from 'inversify';
import { SystemProperty, checkMessageSize, copyProperties, type Message } from '../../domain/messages/message.js';
import { expiresAt, type QueueKey } from '../../domain/messages/store-and-forward.js';
import { messageSource, type RouteMatch } from '../../domain/routing/index.js';
import { Clock } from '../ports/clock.js';
import { DiskFullError, MessageStore, StoreFullError, StoreUnavailableError, type AppendItem, type NewQueueEntry, type QueuedMessage } from '../ports/message-store.js';
import { RandomSource } from '../ports/random-source.js';
import { PipelineMetrics } from './pipeline-metrics.js';
import { PipelineOptions } from './pipeline-options.js';
import { QueueSignal } from './queue-signal.js';
import { RouteConfig } from './route-config.js';

/** The authenticated identity that sent a message. */
export interface Sender {
  deviceId: string;
  moduleId?: string;
}

export interface IngestResult {
  edgeMessageId: string;
  /** Queues (endpoint, priority) the message was stored for; 0 when no route matched. */
  queues: number;
}

/** Group commits handed to the store at once (one committing, the next queued behind it). */
const MAX_COMMITS_IN_FLIGHT = 2;

/**
 * One group commit being filled or waiting for the store: its senders share one promise (not one
 * each: fewer objects live per message in flight, which the young-generation GC copies).
 */
interface PendingBatch {
  items: AppendItem[];
  bytes: number;
  committed: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function newBatch(): PendingBatch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { items: [], bytes: 0, committed, resolve, reject };
}

/**
 * Ingest contract: route, store durably, and only then resolve, so the protocol head acknowledges a
 * message only once it is committed. Writes of concurrent senders are group-committed: calls made in
 * the same event-loop turn (and those arriving while a commit runs) share one transaction.
 */
@injectable()
export class IngestMessage {
  /** Batches not yet handed to the store, oldest first; only the last one may still be filling. */
  private pending: PendingBatch[] = [];
  private filling: PendingBatch | null = null;
  private pendingBytes = 0;
  private inFlightBytes = 0;
  private flushScheduled = false;
  /** Group commits handed to the store and not yet settled. */
  private commitsInFlight = 0;
  /** Settles after the completion of every commit handed to the store so far (handled in order). */
  private completions: Promise<void> = Promise.resolve();

  constructor(
    @inject(RouteConfig) private readonly routes: RouteConfig,
    @inject(MessageStore) private readonly store: MessageStore,
    @inject(Clock) private readonly clock: Clock,
    @inject(RandomSource) private readonly random: RandomSource,
    @inject(QueueSignal) private readonly signal: QueueSignal,
    @inject(PipelineMetrics) private readonly metrics: PipelineMetrics,
    @inject(PipelineOptions) private readonly options: PipelineOptions,
  ) {}

  /**
   * Routes and stores `message`. Resolves after the commit; rejects with `MessageTooLargeError`
   * (over 256 KB), `StoreFullError` (store limit reached; nothing stored is dropped) or
   * `DiskFullError` (no space left where the store lives; nothing stored is dropped).
   */
  async ingest(message: Message, sender?: Sender): Promise<IngestResult> {
    // Not a spread (see copyProperties), nor Object.assign (it would turn a `__proto__` key into a prototype).
    const systemProperties = copyProperties(message.systemProperties);
    if (sender !== undefined) {
      // The identity comes from authentication, never from what the client wrote.
      systemProperties[SystemProperty.connectionDeviceId] = sender.deviceId;
      if (sender.moduleId !== undefined) systemProperties[SystemProperty.connectionModuleId] = sender.moduleId;
      else delete systemProperties[SystemProperty.connectionModuleId];
    }
    const edgeMessageId = this.random.uuid();
    systemProperties[SystemProperty.edgeMessageId] = edgeMessageId;
    const stored: Message = { body: message.body, properties: message.properties, systemProperties };
    const size = checkMessageSize(stored);

    const matches = this.routes.table.match({
      source: messageSource(systemProperties),
      body: stored.body,
      properties: stored.properties,
      systemProperties,
    });
    this.metrics.routed(systemProperties, matches);
    if (matches.length === 0) {
      this.metrics.unrouted.inc();
      return { edgeMessageId, queues: 0 };
    }

    const now = this.clock.now();
    const entries = this.queueEntries(matches, now);
    this.checkStoreLimit(size);
    await this.submit({ message: stored, enqueuedAt: now, entries, size }, size);
    return { edgeMessageId, queues: entries.length };
  }

  /**
   * One entry per (endpoint, priority) of the matched routes; two routes into the same queue keep
   * the longer TTL. Matches are few, so a linear scan beats a keyed map here (this runs for every
   * message).
   */
  private queueEntries(matches: readonly RouteMatch[], now: number): NewQueueEntry[] {
    const entries: NewQueueEntry[] = [];
    for (const match of matches) {
      const expiry = expiresAt(now, match.timeToLiveSecs, this.options.timeToLiveSecs);
      const existing = entries.find((e) => e.endpointId === match.endpoint.id && e.priority === match.priority);
      if (existing === undefined) entries.push({ endpointId: match.endpoint.id, priority: match.priority, expiresAt: expiry });
      else if (expiry > existing.expiresAt) existing.expiresAt = expiry;
    }
    return entries;
  }

  /** Throws `StoreFullError` when `size` more bytes would pass the store limit (counting writes not yet committed). */
  private checkStoreLimit(size: number): void {
    const limit = this.options.maxStoreBytes;
    if (limit <= 0) return;
    const used = this.store.usedBytes() + this.pendingBytes + this.inFlightBytes;
    if (used + size > limit) {
      this.metrics.refused.inc({ reason: 'store_full' });
      throw new StoreFullError(used, limit);
    }
  }

  /**
   * Queues `item` for the next group commit and resolves once it is committed: at once when the
   * batch is full, else at the end of this event-loop turn, so the writes of one turn share a
   * transaction.
   */
  private submit(item: AppendItem, size: number): Promise<void> {
    let batch = this.filling;
    if (batch === null) {
      batch = newBatch();
      this.filling = batch;
      this.pending.push(batch);
    }
    batch.items.push(item);
    batch.bytes += size;
    this.pendingBytes += size;
    if (batch.items.length >= this.options.maxWriteBatch) {
      this.filling = null;
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.clock.defer(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return batch.committed;
  }

  /** Resolves once everything submitted so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.commitsInFlight > 0) {
      this.flush();
      await this.completions;
    }
  }

  /**
   * Hands pending batches (up to `maxWriteBatch` each) to the store, with up to
   * `MAX_COMMITS_IN_FLIGHT` uncommitted at once: the next batch is encoded and queued while the
   * store commits the previous one (on the SQLite writer thread), instead of after it. Each batch
   * still resolves only after its own commit, and completions are handled in issue order.
   */
  private flush(): void {
    while (this.pending.length > 0 && this.commitsInFlight < MAX_COMMITS_IN_FLIGHT) {
      const batch = this.pending.shift()!;
      if (batch === this.filling) this.filling = null;
      this.pendingBytes -= batch.bytes;
      this.inFlightBytes += batch.bytes;
      this.commitsInFlight++;
      const appended = this.store.append(batch.items);
      this.completions = this.completions.then(() =>
        appended.then(
          (offsets) => this.committed(batch, offsets),
          (error: unknown) => this.failed(batch, error),
        ),
      );
    }
  }

  private failed(batch: PendingBatch, error: unknown): void {
    this.inFlightBytes -= batch.bytes;
    this.commitsInFlight--;
    this.flush();
    if (error instanceof DiskFullError) this.metrics.refused.inc({ reason: 'disk_full' }, batch.items.length);
    else if (error instanceof StoreUnavailableError) this.metrics.refused.inc({ reason: 'store_unavailable' }, batch.items.length);
    batch.reject(error);
  }

  private committed(batch: PendingBatch, offsets: readonly number[]): void {
    this.inFlightBytes -= batch.bytes;
    this.commitsInFlight--;
    // The next batch goes to the store before this one's senders resume (and submit more).
    this.flush();
    const items = batch.items;
    this.metrics.received.inc(undefined, items.length);
    this.metrics.storeBytes.set({}, this.store.usedBytes());
    // Distinct queues of the batch with their new entries, so pumps that are caught up take them
    // from memory. Matches are few, so linear scans.
    const touched: QueueKey[] = [];
    const committed: QueuedMessage[][] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      for (const k of item.entries) {
        let t = touched.findIndex((x) => x.endpointId === k.endpointId && x.priority === k.priority);
        if (t < 0) {
          t = touched.push({ endpointId: k.endpointId, priority: k.priority }) - 1;
          committed.push([]);
        }
        committed[t]!.push({ offset: offsets[i]!, expiresAt: k.expiresAt, enqueuedAt: item.enqueuedAt, message: item.message });
      }
    }
    batch.resolve();
    for (const q of this.store.queues()) {
      if (touched.some((t) => t.endpointId === q.endpointId && t.priority === q.priority)) {
        this.metrics.queueLength.set({ endpoint: q.endpointId, priority: String(q.priority) }, q.length);
      }
    }
    this.metrics.enqueued(touched, committed);
    this.signal.notify(touched, committed);
  }
}
