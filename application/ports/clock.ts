/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time source and scheduler for everything that waits, expires, backs off or yields. Production
 * binds the system clock; tests bind a fake clock and advance it, so no test sleeps to wait for
 * logic. `domain/` and `application/` use no timer globals (`setTimeout`, `setImmediate`, ...):
 * `test/unit/architecture/timer-globals.test.ts` checks it on the compiled code.
 */
export abstract class Clock {
  /** Milliseconds since the Unix epoch. */
  abstract now(): number;
  /** Runs `callback` once after `delayMs` of this clock's time. */
  abstract schedule(delayMs: number, callback: () => void): TimerHandle;

  /**
   * Runs `callback` after the current event-loop turn, once the I/O callbacks already waiting have
   * run (the system clock uses Node's `setImmediate`). It is how work yields: group commits collect
   * the writes of one turn, pumps let protocol I/O in between batches. Clocks that cannot do better
   * fall back to a zero-delay timer of their own time.
   */
  defer(callback: () => void): void {
    this.schedule(0, callback);
  }

  /** Resolves after the current turn (see `defer`). */
  nextTurn(): Promise<void> {
    return new Promise((resolve) => this.defer(resolve));
  }
}
