import { injectable } from 'inversify';
import { Clock, type TimerHandle } from '../../application/ports/clock.js';

@injectable()
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, delayMs);
    // Timers never keep the process alive on their own: shutdown is driven by HostedService.stop().
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }

  override defer(callback: () => void): void {
    setImmediate(callback);
  }
}
