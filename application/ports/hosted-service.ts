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

/**
 * A listener could not bind. Carries what was attempted and why, so the lifecycle can tell the
 * user which setting changes the port.
 */
export class ListenError extends Error {
  readonly code = 'EDGEPORT_LISTEN_FAILED';
  constructor(
    readonly listen: ListenInfo,
    /** The system error code, e.g. EADDRINUSE or EACCES. */
    readonly reason: string,
  ) {
    super(`cannot listen on ${listen.host}:${listen.port} (${listen.protocol}): ${describeListenReason(reason)}`);
    this.name = 'ListenError';
  }
}

function describeListenReason(reason: string): string {
  switch (reason) {
    case 'EADDRINUSE':
      return 'the port is already in use by another process';
    case 'EACCES':
      return 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)';
    case 'EADDRNOTAVAIL':
      return 'the address is not available on this machine';
    default:
      return reason;
  }
}
