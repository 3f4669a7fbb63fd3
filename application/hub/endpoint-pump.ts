import { retryDelayMs, type QueueKey } from '../../domain/messages/store-and-forward.js';
import type { Endpoint } from '../../domain/routing/index.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import { DeliveryError, type EndpointDelivery, type DeliveryResult } from '../ports/endpoint-delivery.js';
import type { Logger } from '../ports/logger.js';
import type { MessageStore, QueuedMessage } from '../ports/message-store.js';
import type { RandomSource } from '../ports/random-source.js';
import type { PipelineMetrics } from './pipeline-metrics.js';
import type { PipelineOptions } from './pipeline-options.js';
import { Checkpointer } from './checkpointer.js';
import { retryableFailure } from './delivery-failure.js';
import { InFlightWindow, type InFlightBatch } from './in-flight-window.js';
import { nextBatch, shiftExpired } from './queue-page.js';

/** Batches in flight at once per endpoint: the one being acknowledged and the next (up to 16 when small). */
export const PIPELINE_DEPTH = 2;
export const SMALL_BATCHES_IN_FLIGHT = 16;
const bodyBytes = (entry: QueuedMessage): number => entry.message.body.byteLength;

/**
 * Delivered batches whose checkpoint may not be written yet, at most: those in flight and the
 * one whose checkpoint is being written while the next goes out. What a crash can deliver again
 * (counted in full batches: smaller batches in flight hold fewer than PIPELINE_DEPTH full ones).
 */
export const UNCHECKPOINTED_BATCHES = PIPELINE_DEPTH + 1;

export interface PumpDependencies {
  store: MessageStore;
  delivery: EndpointDelivery;
  clock: Clock;
  random: RandomSource;
  metrics: PipelineMetrics;
  options: PipelineOptions;
  logger: Logger;
}

interface QueueState {
  key: QueueKey;
  /** Highest offset read into memory (entries above it are only on disk). */
  cursor: number;
  /** Entries read from disk and not yet processed, in order. */
  page: QueuedMessage[];
  /** There may be entries on disk above `cursor`. */
  dirty: boolean;
  /** A read or an expiry removal after `cursor` is in flight. */
  reading: boolean;
  /** Entries at the head of `page` handed to in-flight deliveries. */
  taken: number;
}

/**
 * Delivers one endpoint's queues in order: strictly by priority (0 first; after every batch it
 * starts again from the highest priority), reading pages from disk, checkpointing after each batch.
 * Waits while the endpoint is unavailable; retries transient failures with exponential back-off;
 * drops non-transient failures (unclassified errors after `UNCLASSIFIED_FAILURE_ATTEMPTS`) and expired
 * entries (logged and counted). Expired-entry sweeps run
 * inside the pump's loop, so an entry is never counted twice.
 */
export class EndpointPump {
  private readonly queues: QueueState[] = [];
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeResolver: (() => void) | null = null;
  private wakePending = false;
  private sweepWaiters: Array<() => void> = [];
  private retries = 0;
  private readonly log: Logger;
  private readonly labelsByPriority = new Map<number, Record<string, string>>();

  constructor(readonly endpoint: Endpoint, private readonly deps: PumpDependencies) {
    this.log = deps.logger.child({ component: 'pump', endpoint: endpoint.id });
  }

  /** Messages per delivery (and checkpoint interval) of this endpoint. */
  private get batchSize(): number {
    const { deliveryBatchSize, upstreamBatchSize } = this.deps.options;
    return this.endpoint.type === 'upstream' ? (upstreamBatchSize ?? deliveryBatchSize) : deliveryBatchSize;
  }

  /** Registers a queue of this endpoint (idempotent); `checkpoint` is where reading starts. */
  addQueue(priority: number, checkpoint: number, hasEntries: boolean): void {
    const existing = this.queues.find((q) => q.key.priority === priority);
    if (existing !== undefined) {
      if (hasEntries) existing.dirty = true;
    } else {
      this.queues.push({ key: { endpointId: this.endpoint.id, priority }, cursor: checkpoint, page: [], dirty: hasEntries, reading: false, taken: 0 });
      this.queues.sort((a, b) => a.key.priority - b.key.priority);
    }
    if (hasEntries) this.wake();
  }

  /**
   * New entries were committed to the queue of `priority`. When they are given and the pump has
   * read everything before them (the usual case when it keeps up), they join the page in memory and
   * are not read back from the store (a flood's group commits are large, and a read from disk costs
   * more than the delivery); the page still never holds more than `readPageSize` entries plus one
   * group commit (`maxWriteBatch`) besides those already handed to in-flight deliveries,
   * and an endpoint that is not available gets nothing in memory (its backlog stays on disk).
   */
  notify(priority: number, committed?: readonly QueuedMessage[]): void {
    const q = this.queues.find((s) => s.key.priority === priority);
    if (q === undefined) this.addQueue(priority, 0, true);
    else if (
      committed !== undefined &&
      committed.length > 0 &&
      !q.dirty &&
      !q.reading &&
      committed[0]!.offset > q.cursor &&
      q.page.length - q.taken + committed.length <= this.deps.options.readPageSize + this.deps.options.maxWriteBatch &&
      this.deps.delivery.isAvailable(this.endpoint)
    ) {
      for (const entry of committed) q.page.push(entry);
      q.cursor = committed[committed.length - 1]!.offset;
    } else q.dirty = true;
    this.wake();
  }

  /** Re-checks availability, timers and flags (availability changed, sweep requested, stop). */
  wake(): void {
    const resolve = this.wakeResolver;
    this.wakeResolver = null;
    if (resolve !== null) resolve();
    else this.wakePending = true;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run().catch((error: unknown) => {
      this.log.error('pump stopped on an unexpected error', { error: String(error) });
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = null;
    this.flushSweepWaiters();
  }

  /**
   * Removes expired entries of every queue: those held in memory at a queue's head and those on disk
   * after what the pump has read. Resolves when done (runs inside the pump loop when it is running).
   */
  sweep(): Promise<void> {
    if (!this.running) return this.sweepNow();
    return new Promise((resolve) => {
      this.sweepWaiters.push(resolve);
      this.wake();
    });
  }

  private labels(priority: number): Record<string, string> {
    let labels = this.labelsByPriority.get(priority);
    if (labels === undefined) {
      labels = { endpoint: this.endpoint.id, priority: String(priority) };
      this.labelsByPriority.set(priority, labels);
    }
    return labels;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.runPendingSweep();
        if (!this.deps.delivery.isAvailable(this.endpoint)) {
          await this.waitForWake();
          continue;
        }
        const q = await this.nextQueueWithWork();
        if (q === undefined) {
          await this.waitForWake();
          continue;
        }
        await this.processBatch(q);
        // Synchronous stores (SQLite) resolve in microtasks only: yield so protocol I/O and ingest
        // commits run between batches, and a new higher-priority message can overtake the backlog.
        await this.deps.clock.nextTurn();
      } catch (error) {
        // A storage error (disk full, database restarting): nothing is lost, so wait and try again.
        // What is in memory is re-read from the last checkpoint.
        this.log.error('pump failed; retrying from the last checkpoint', { error: error instanceof Error ? error.message : String(error) });
        this.resetToCheckpoints();
        await this.waitForWake(this.deps.clock.now() + retryDelayMs(this.retries++, this.deps.random.next()));
      }
    }
  }

  /** The highest-priority queue with entries in memory, loading one page from disk if needed. */
  private async nextQueueWithWork(): Promise<QueueState | undefined> {
    for (const q of this.queues) {
      if (q.page.length > 0) return q;
      if (!q.dirty) continue;
      const page = await this.readPage(q);
      const last = page[page.length - 1];
      if (last === undefined) continue;
      q.page = page;
      q.cursor = last.offset;
      return q;
    }
    return undefined;
  }

  /**
   * Delivers from `q` in batches, keeping the next batch in flight while the current one is being
   * acknowledged. Waiting for every acknowledgement of a batch before sending the next would stall
   * on clients that leave Nagle's algorithm on (the Azure IoT SDKs do): they hold their later
   * acknowledgements until our TCP ACK, which the kernel delays up to 40 ms when we have nothing to
   * send. Checkpoints still advance batch by batch in order. Returns when the queue has nothing in
   * memory, a delivery fails, or higher-priority work or a sweep is waiting.
   */
  private async processBatch(q: QueueState): Promise<void> {
    const checkpoints = new Checkpointer((offset) => this.deps.store.checkpoint(q.key, offset), () => this.refreshGauge(q.key.priority));
    // Leading expired entries are dropped without delivery.
    const expired = shiftExpired(q.page, this.deps.clock.now());
    if (expired.count > 0) {
      checkpoints.advance(expired.lastOffset);
      this.deps.metrics.dropped.inc({ endpoint: this.endpoint.id, reason: 'ttl_expiry' }, expired.count);
    }
    // Small batches may go beyond PIPELINE_DEPTH (the Nagle stall, see InFlightWindow).
    const window = new InFlightWindow<QueuedMessage>(PIPELINE_DEPTH, PIPELINE_DEPTH * this.batchSize, SMALL_BATCHES_IN_FLIGHT);
    q.taken = 0;
    await this.sendNext(q, window);
    while (!window.isEmpty) {
      if (window.hasRoom && !this.shouldYield(q)) await this.sendNext(q, window);
      // Room for another batch: also wake for new work, whose PUBLISH carries our TCP ACK to the
      // client and so releases acknowledgements its Nagle holds (this is what keeps latency low at
      // modest rates, when every batch is small).
      if (window.hasRoom && this.running && !(await this.settlesBeforeWake(window.oldest()))) continue;
      const { batch, result } = window.shift();
      const outcome = await result;
      const delivered = this.recordDelivered(q, batch, outcome.delivered, checkpoints);
      if (delivered < batch.length) {
        // Stop the pipeline. Batches behind this one stay in the page and go out again later
        // (at-least-once, in order from the first undelivered entry).
        await window.abandon();
        q.taken = 0;
        if ((await this.retryOrDrop(q, batch[delivered]!, outcome.error, checkpoints)) === 'retrying') return;
        break;
      }
      if (!window.isEmpty) await checkpoints.writeBehind();
      // Let commits and notifications run (synchronous stores resolve in microtasks only), so new
      // higher-priority work is seen before the next batch goes out.
      await this.deps.clock.nextTurn();
    }
    await checkpoints.flush();
  }

  /** Hands the next batch of `q` to the endpoint (reading more from disk when memory ran out), if there is one. */
  private async sendNext(q: QueueState, window: InFlightWindow<QueuedMessage>): Promise<void> {
    if (q.taken >= q.page.length && q.dirty && !window.isEmpty) await this.readMore(q);
    const batch = nextBatch(q.page, q.taken, this.batchSize, this.deps.clock.now(), this.deps.options.deliveryBatchBytes, bodyBytes);
    if (batch.length === 0) return;
    q.taken += batch.length;
    window.add(batch, this.deliverWithTimeout(batch));
  }

  /** True when `inFlight` settles first, false when the pump is woken first (new work, stop, sweep). */
  private settlesBeforeWake(inFlight: InFlightBatch<QueuedMessage>): Promise<boolean> {
    return Promise.race([inFlight.result.then(() => true), this.waitForWake().then(() => false)]);
  }

  /** Counts what the endpoint took of `batch` (a prefix), removes it from the page and records the checkpoint. */
  private recordDelivered(q: QueueState, batch: readonly QueuedMessage[], reported: number, checkpoints: Checkpointer): number {
    const delivered = Math.min(Math.max(0, reported), batch.length);
    if (delivered === 0) return 0;
    this.deps.metrics.sent.inc(this.labels(q.key.priority), delivered);
    this.deps.metrics.delivered(this.endpoint, q.key.priority, batch, delivered, this.deps.clock.now());
    checkpoints.advance(batch[delivered - 1]!.offset);
    q.page.splice(0, delivered);
    q.taken -= delivered;
    this.retries = 0;
    return delivered;
  }

  /**
   * After `failed` was not delivered: back off and keep it at the head of the queue (a transient
   * failure), or drop it (logged and counted) so the queue goes on. Checkpoints what was delivered.
   */
  private async retryOrDrop(q: QueueState, failed: QueuedMessage, reason: unknown, checkpoints: Checkpointer): Promise<'retrying' | 'dropped'> {
    const error = reason ?? new DeliveryError('delivery stopped without an error', true);
    const retry = retryableFailure(error, this.retries);
    this.deps.metrics.deliveryFailed(this.endpoint.id, error, this.deps.clock.now());
    await checkpoints.settled();
    if (retry !== undefined) {
      await checkpoints.flush();
      this.refreshGauge(q.key.priority);
      await this.backOff(retry);
      return 'retrying';
    }
    this.deps.metrics.dropped.inc({ endpoint: this.endpoint.id, reason: 'delivery_failed' });
    this.log.warn('message dropped: delivery failed with a non-transient error', {
      edgeMessageId: failed.message.systemProperties['edgeMessageId'] ?? null,
      error: error instanceof Error ? error.message : String(error),
    });
    q.page.shift();
    checkpoints.advance(failed.offset);
    this.retries = 0;
    return 'dropped';
  }

  /** Reads the page after `q.cursor`; entries committed meanwhile leave `q` dirty (read next time). */
  private async readPage(q: QueueState): Promise<QueuedMessage[]> {
    q.dirty = false;
    q.reading = true;
    try {
      const page = await this.deps.store.read(q.key, q.cursor, this.deps.options.readPageSize);
      if (page.length === this.deps.options.readPageSize) q.dirty = true;
      return page;
    } catch (error) {
      q.dirty = true;
      throw error;
    } finally {
      q.reading = false;
    }
  }

  /** Appends the next page of `q` from disk to what is in memory. */
  private async readMore(q: QueueState): Promise<void> {
    const page = await this.readPage(q);
    const last = page[page.length - 1];
    if (last === undefined) return;
    for (const entry of page) q.page.push(entry);
    q.cursor = last.offset;
  }

  /** Whether the pump should stop pipelining `q`: stopping, a sweep waits, or a higher priority has work. */
  private shouldYield(q: QueueState): boolean {
    if (!this.running || this.sweepWaiters.length > 0) return true;
    for (const other of this.queues) {
      if (other.key.priority >= q.key.priority) break;
      if (other.page.length > 0 || other.dirty) return true;
    }
    return false;
  }

  private resetToCheckpoints(): void {
    const infos = this.deps.store.queues();
    for (const q of this.queues) {
      const info = infos.find((i) => i.endpointId === q.key.endpointId && i.priority === q.key.priority);
      q.page = [];
      q.cursor = info?.checkpoint ?? 0;
      q.dirty = true;
      q.reading = false;
      q.taken = 0;
    }
  }

  private async deliverWithTimeout(batch: readonly QueuedMessage[]): Promise<DeliveryResult> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<DeliveryResult>((resolve) => {
      timer = this.deps.clock.schedule(this.deps.options.sendTimeoutMs, () => {
        this.deps.metrics.deliveryTimeouts.inc({ endpoint: this.endpoint.id });
        resolve({ delivered: 0, error: new DeliveryError(`delivery timed out after ${this.deps.options.sendTimeoutMs} ms`, true) });
      });
    });
    try {
      return await Promise.race([
        Promise.resolve()
          .then(() => this.deps.delivery.deliver(this.endpoint, batch.map((e) => e.message)))
          .catch((error: unknown) => ({ delivered: 0, error })),
        timeout,
      ]);
    } finally {
      timer?.cancel();
    }
  }

  private async backOff(error: DeliveryError): Promise<void> {
    const delay = retryDelayMs(this.retries, this.deps.random.next());
    this.retries++;
    if (this.retries === 1 || this.retries % 10 === 0) {
      this.log.info('delivery failed transiently; retrying', { error: error.message, retries: this.retries, delayMs: Math.round(delay) });
    }
    const until = this.deps.clock.now() + delay;
    let wasAvailable = this.deps.delivery.isAvailable(this.endpoint);
    while (this.running && this.deps.clock.now() < until) {
      await this.waitForWake(until);
      await this.runPendingSweep();
      const available = this.deps.delivery.isAvailable(this.endpoint);
      // The endpoint came back (module reconnected, upstream up): retry now rather than at the end of the back-off.
      if (available && !wasAvailable) return;
      wasAvailable = available;
    }
  }

  private waitForWake(until?: number): Promise<void> {
    if (this.wakePending || !this.running) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      this.wakeResolver = () => {
        timer?.cancel();
        resolve();
      };
      if (until !== undefined) {
        timer = this.deps.clock.schedule(Math.max(0, until - this.deps.clock.now()), () => this.wake());
      }
    });
  }

  private async runPendingSweep(): Promise<void> {
    if (this.sweepWaiters.length === 0) return;
    const waiters = this.sweepWaiters;
    this.sweepWaiters = [];
    try {
      await this.sweepNow();
    } finally {
      for (const resolve of waiters) resolve();
    }
  }

  private flushSweepWaiters(): void {
    const waiters = this.sweepWaiters;
    this.sweepWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async sweepNow(): Promise<void> {
    const now = this.deps.clock.now();
    for (const q of this.queues) {
      const head = shiftExpired(q.page, now);
      let expired = head.count;
      if (head.count > 0) await this.deps.store.checkpoint(q.key, head.lastOffset);
      if (q.page.length === 0) {
        // Nothing of this queue is in memory: expire from disk after the cursor (new entries meanwhile
        // stay on disk, so they are not both in memory and removed).
        q.reading = true;
        try {
          expired += await this.deps.store.removeExpired(q.key, q.cursor, now);
        } finally {
          q.reading = false;
        }
      }
      if (expired > 0) {
        this.deps.metrics.dropped.inc({ endpoint: this.endpoint.id, reason: 'ttl_expiry' }, expired);
        this.refreshGauge(q.key.priority);
      }
    }
  }

  private refreshGauge(priority: number): void {
    const info = this.deps.store.queues().find((q) => q.endpointId === this.endpoint.id && q.priority === priority);
    this.deps.metrics.queueLength.set(this.labels(priority), info?.length ?? 0);
  }
}
