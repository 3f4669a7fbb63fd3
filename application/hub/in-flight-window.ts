import type { DeliveryResult } from '../ports/endpoint-delivery.js';

/** One batch handed to the endpoint and the promise of its outcome. */
export interface InFlightBatch<T> {
  readonly batch: readonly T[];
  readonly result: Promise<DeliveryResult>;
}

/**
 * The batches of one queue that are out for delivery, oldest first, at most `depth` of them. A pump
 * keeps the next batch in flight while the oldest is being acknowledged and settles them strictly
 * in order, so checkpoints advance batch by batch.
 */
export class InFlightWindow<T> {
  private readonly batches: Array<InFlightBatch<T>> = [];

  constructor(readonly depth: number) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`an in-flight window holds at least one batch (got ${depth})`);
  }

  get size(): number {
    return this.batches.length;
  }

  get isEmpty(): boolean {
    return this.batches.length === 0;
  }

  /** Whether another batch may go out before the oldest one settles. */
  get hasRoom(): boolean {
    return this.batches.length < this.depth;
  }

  add(batch: readonly T[], result: Promise<DeliveryResult>): void {
    if (!this.hasRoom) throw new Error(`the in-flight window is full (${this.depth} batches)`);
    this.batches.push({ batch, result });
  }

  /** The oldest batch (the next to settle); throws when the window is empty. */
  oldest(): InFlightBatch<T> {
    const head = this.batches[0];
    if (head === undefined) throw new Error('the in-flight window is empty');
    return head;
  }

  /** Removes and returns the oldest batch; throws when the window is empty. */
  shift(): InFlightBatch<T> {
    const head = this.oldest();
    this.batches.shift();
    return head;
  }

  /**
   * Empties the window after a failed delivery and waits for the outcomes of the batches it held:
   * what they delivered is not counted (it goes again, at least once and in order from the first
   * undelivered entry), but they must be done before the queue is read again.
   */
  async abandon(): Promise<void> {
    for (const behind of this.batches.splice(0)) await behind.result;
  }
}
