/**
 * A long-running part of the runtime (a listener, a pump, the reconcile loop). `edgeport run`
 * starts every bound part in order and stops them in reverse order on SIGINT/SIGTERM.
 */
export abstract class HostedService {
  /** Short name used in logs, e.g. `mqtt`, `storage`. */
  abstract readonly name: string;
  /** Starts the part; resolves once it accepts work. Returns what it listens on, if anything. */
  abstract start(): Promise<ListenInfo[]>;
  /** Stops accepting work, finishes or flushes what is in flight, releases resources. */
  abstract stop(): Promise<void>;
}

export interface ListenInfo {
  protocol: string;
  host: string;
  port: number;
  /** The configuration key that changes this port, for errors and logs. */
  setting: string;
}
