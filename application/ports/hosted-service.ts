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

/** The part of a Node `net.Server` (or `tls.Server`, `https.Server`) that `listenOn` uses. */
export interface ListenableServer {
  once(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
  listen(port: number, host: string, callback: () => void): unknown;
  address(): unknown;
}

/**
 * Binds `server` to `info.host:info.port`; rejects with `ListenError` (naming `info.setting`) when
 * that fails, and reports later server errors to `onError`. Resolves with the bound port (port 0
 * picks a free one).
 */
export async function listenOn(server: ListenableServer, info: ListenInfo, onError: (error: Error) => void): Promise<ListenInfo> {
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error & { code?: string }): void => reject(new ListenError(info, error.code ?? error.message));
    server.once('error', failed);
    server.listen(info.port, info.host, () => {
      server.off('error', failed);
      server.on('error', onError);
      resolve();
    });
  });
  const address = server.address() as { port?: number } | string | null;
  const port = address !== null && typeof address === 'object' && typeof address.port === 'number' ? address.port : info.port;
  return { ...info, port };
}
