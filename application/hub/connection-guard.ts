import { inject, injectable } from 'inversify';
import { Clock, type TimerHandle } from '../ports/clock.js';
import { Logger, type LogFields } from '../ports/logger.js';
import { type Counter, Metrics } from '../ports/metrics.js';
import { ConnectionAdmission } from './connection-admission.js';
import { ConnectionLimits } from './connection-limits.js';
import { LoginBackoff } from './login-backoff.js';
import { RefusalLog } from './refusal-log.js';

/** The address fields of a socket (net.Socket, tls.TLSSocket, an upgraded request's socket). */
export interface PeerAddress {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localPort?: number | undefined;
}

/** What the guard needs of an accepted socket. Structural, so this layer needs no `node:net`. */
export interface GuardedSocket extends PeerAddress {
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** One admitted connection as the listeners and heads see it. */
export class Peer {
  /** True until the connection authenticates (MQTT CONNACK 0, AMQP SASL PLAIN or first put-token, an HTTPS request). */
  pending = true;
  deadline: TimerHandle | undefined;

  constructor(
    /** Unique among open connections: remote address and port, local port. */
    readonly key: string,
    /** The remote address, IPv4-mapped IPv6 written as IPv4. */
    readonly source: string,
    /** The listener that accepted it: `mqtts`, `mqtt`, `amqps`, `https`. */
    readonly listener: string,
  ) {}
}

/** `::ffff:127.0.0.1` -> `127.0.0.1`: one source whichever socket family accepted it. */
export function sourceOf(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function keyOf(address: PeerAddress): string | undefined {
  if (address.remoteAddress === undefined) return undefined;
  return `${sourceOf(address.remoteAddress)}|${String(address.remotePort)}|${String(address.localPort)}`;
}

/**
 * The hub's connection limits (issue #12 item 4; docs/security.md), shared by every listener so
 * that totals cover them all: admission (total, per source, pending), the handshake deadline
 * (a connection that has not authenticated in `handshakeTimeoutMs` is closed), failed-login
 * back-off per source, and refusal logs collapsed into one summary per source and interval. The
 * policies are pure (`ConnectionAdmission`, `LoginBackoff`, `RefusalLog`); this class applies
 * them with the `Clock` and logs.
 */
@injectable()
export class ConnectionGuard {
  private readonly admission: ConnectionAdmission;
  private readonly backoff: LoginBackoff;
  private readonly refusals: RefusalLog;
  private readonly peers = new Map<string, Peer>();
  private readonly refused: Counter;
  private readonly log: Logger;
  private summaryTimer: TimerHandle | undefined;

  constructor(
    @inject(ConnectionLimits) readonly limits: ConnectionLimits,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) logger: Logger,
    @inject(Metrics) metrics: Metrics,
  ) {
    this.admission = new ConnectionAdmission(limits);
    this.backoff = new LoginBackoff(limits);
    this.refusals = new RefusalLog(limits.logSummaryIntervalMs);
    this.log = logger.child({ component: 'limits' });
    this.refused = metrics.counter('edgeport_connections_refused_total', 'Connections refused or closed by the hub limits, by listener and reason');
  }

  /**
   * A listener accepted `socket`: admits it as a pending peer (closed at the handshake deadline
   * unless it authenticates; forgotten when it closes), or destroys it at once and returns
   * undefined when its source backs off or a limit is reached.
   */
  admit(socket: GuardedSocket, listener: string): Peer | undefined {
    const key = keyOf(socket);
    if (key === undefined) {
      socket.destroy(); // closed before we saw it
      return undefined;
    }
    const source = sourceOf(socket.remoteAddress!);
    const now = this.clock.now();
    const blockedMs = this.backoff.blockedFor(source, now);
    const refusal = blockedMs > 0 ? 'login-backoff' : this.admission.admit(source);
    if (refusal !== undefined) {
      socket.destroy();
      this.refuse(source, listener, refusal, refusal === 'login-backoff' ? { retryAfterSecs: Math.ceil(blockedMs / 1000) } : this.admission.counts(source));
      return undefined;
    }
    const peer = new Peer(key, source, listener);
    this.peers.set(key, peer);
    peer.deadline = this.clock.schedule(this.limits.handshakeTimeoutMs, () => {
      if (!peer.pending) return;
      this.refuse(source, listener, 'handshake-timeout', { afterSecs: this.limits.handshakeTimeoutMs / 1000 });
      socket.destroy();
    });
    socket.once('close', () => {
      peer.deadline?.cancel();
      if (this.peers.get(key) === peer) this.peers.delete(key);
      this.admission.closed(source, peer.pending);
    });
    return peer;
  }

  /** The admitted peer behind a socket (a TLS socket or an upgraded request's socket has its raw socket's address). */
  peerOf(address: PeerAddress): Peer | undefined {
    const key = keyOf(address);
    return key === undefined ? undefined : this.peers.get(key);
  }

  /** `peer` authenticated: it is no longer pending, and its source's failed logins are forgotten. */
  authenticated(peer: Peer): void {
    this.backoff.succeeded(peer.source);
    this.established(peer);
  }

  /**
   * `peer` completed its protocol's opening without a login of its own (an HTTPS request, whose
   * authorization is per request): no longer pending, but its source's failed logins still count.
   */
  established(peer: Peer): void {
    if (!peer.pending) return;
    peer.pending = false;
    peer.deadline?.cancel();
    peer.deadline = undefined;
    this.admission.authenticated(peer.source);
  }

  /**
   * A login from `source` failed (`reason`: the authenticator's, e.g. `bad-signature`). Returns
   * whether the caller should log it in full: every failure below the back-off threshold, then
   * the first per interval (the rest are summed into the source's summary line).
   */
  loginFailed(source: string, listener: string, reason: string): { logInFull: boolean; backoffMs: number } {
    const now = this.clock.now();
    const { backoffMs, failures } = this.backoff.failed(source, now);
    this.refused.inc({ listener, reason: 'login-failed' });
    if (failures < this.limits.loginFailuresBeforeBackoff) return { logInFull: true, backoffMs };
    const logInFull = this.refusals.record(source, `login-failed:${reason}`, now);
    if (logInFull) this.log.warn('source backs off after repeated failed logins', { source, listener, failures, backoffSecs: backoffMs / 1000 });
    this.scheduleSummary();
    return { logInFull, backoffMs };
  }

  /** `peer` broke a protocol limit (declared size, QoS 2 PUBLISH, ...): logged (collapsed per source) and counted; the caller closes it. */
  violation(peer: { source: string; listener: string }, reason: string, fields: LogFields = {}): void {
    this.refuse(peer.source, peer.listener, reason, fields);
  }

  /** Counts of open and pending connections (all, or from one source). */
  counts(source?: string): { open: number; pending: number } {
    return this.admission.counts(source);
  }

  private refuse(source: string, listener: string, reason: string, fields: LogFields): void {
    this.refused.inc({ listener, reason });
    if (this.refusals.record(source, reason, this.clock.now())) this.log.warn('connection refused by limits', { source, listener, reason, ...fields });
    this.scheduleSummary();
  }

  private scheduleSummary(): void {
    if (this.summaryTimer !== undefined) return;
    const due = this.refusals.nextDue();
    if (due === undefined) return;
    this.summaryTimer = this.clock.schedule(Math.max(0, due - this.clock.now()), () => {
      this.summaryTimer = undefined;
      for (const summary of this.refusals.due(this.clock.now())) {
        this.log.warn('repeated refusals from one source', { source: summary.source, total: summary.total, counts: summary.counts, sinceSecs: Math.round((this.clock.now() - summary.since) / 1000) });
      }
      this.scheduleSummary();
    });
  }
}
