import { injectable } from 'inversify';
import { Clock, type TimerHandle } from '../../application/ports/clock.js';

const MAX_TIMEOUT_MS = 2_147_483_647;

@injectable()
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, callback: () => void): TimerHandle {
    // setTimeout fires at once for delays over 2^31-1 ms (~24.8 days): longer waits (a client
    // certificate's notAfter) go in steps.
    let timer: NodeJS.Timeout;
    const arm = (left: number): void => {
      timer = setTimeout(left > MAX_TIMEOUT_MS ? () => arm(left - MAX_TIMEOUT_MS) : callback, Math.min(left, MAX_TIMEOUT_MS));
      // Timers never keep the process alive on their own: shutdown is driven by HostedService.stop().
      timer.unref();
    };
    arm(delayMs);
    return { cancel: () => clearTimeout(timer) };
  }

  override defer(callback: () => void): void {
    setImmediate(callback);
  }
}
