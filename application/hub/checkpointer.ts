/**
 * The checkpoint of one queue while its pump pipelines batches: records how far delivery got and
 * writes it behind the deliveries, one write at a time and in order. A write may wait behind ingest
 * commits on the store's writer; the next batch does not wait for it, so a crash can deliver again at
 * most the batches in flight plus the one being checkpointed (`UNCHECKPOINTED_BATCHES`).
 */
export class Checkpointer {
  /** Highest offset delivered (or dropped) and not yet handed to a write; 0 when none. */
  private pending = 0;
  private writing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    /** Writes the checkpoint of the queue (the store's `checkpoint`). */
    private readonly write: (offset: number) => Promise<void>,
    /** Called after each write succeeded (refreshes the queue-length gauge). */
    private readonly written: () => void,
  ) {}

  /** Everything up to `offset` was delivered or dropped. */
  advance(offset: number): void {
    this.pending = offset;
  }

  /** Whether an advance has not been handed to a write yet. */
  get hasPending(): boolean {
    return this.pending > 0;
  }

  /**
   * Starts writing the recorded offset in the background once the previous write is done (at most
   * one checkpoint behind). Rethrows the failure of an earlier background write.
   */
  async writeBehind(): Promise<void> {
    if (this.pending === 0) return;
    await this.settled();
    const upto = this.take();
    const write: Promise<void> = this.write(upto)
      .then(
        () => this.written(),
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .then(() => {
        if (this.writing === write) this.writing = undefined;
      });
    this.writing = write;
  }

  /** Waits for the background write; rethrows its failure (the pump then restarts from the store). */
  async settled(): Promise<void> {
    await this.writing;
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Waits for the background write, then writes what is recorded and waits for that too. */
  async flush(): Promise<void> {
    await this.settled();
    if (this.pending === 0) return;
    await this.write(this.take());
    this.written();
  }

  private take(): number {
    const upto = this.pending;
    this.pending = 0;
    return upto;
  }
}
