/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time source for everything that waits, expires or backs off. Production binds the system clock;
 * tests bind a fake clock and advance it, so no test sleeps to wait for logic.
 */
export abstract class Clock {
  /** Milliseconds since the Unix epoch. */
  abstract now(): number;
  /** Runs `callback` once after `delayMs` of this clock's time. */
  abstract schedule(delayMs: number, callback: () => void): TimerHandle;
}
