import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { CertificateChain } from '../ports/certificate-verifier.js';
import { Clock, type TimerHandle } from '../ports/clock.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Logger } from '../ports/logger.js';
import { AuthenticateCertificate, X509AuthOptions } from './authenticate-certificate.js';

/** One live connection authenticated by a client certificate. */
export interface CertificateSession {
  readonly identity: Identity;
  readonly chain: CertificateChain;
  /** `mqtt`, `amqp`: for logs. */
  readonly protocol: string;
  /** Closes the connection (MQTT) or detaches the identity's links (AMQP). */
  close(reason: string): void;
}

/**
 * Live certificate connections and their revocation: every `hub.x509.revocationCheckSecs` (on the
 * Clock) each session is authenticated again against the identity store, and a session whose
 * identity was removed, disabled, turned into a SAS identity or no longer accepts the certificate
 * (thumbprint changed, CA no longer trusted) is closed with the reason in the log. `recheck()`
 * runs the same check at once (the management API and tests). Certificate expiry is the heads'
 * timer at `notAfter` (the `expiresAtMs` of the authentication).
 */
@injectable()
export class CertificateSessions extends HostedService {
  readonly name = 'x509-sessions';
  private readonly sessions = new Set<CertificateSession>();
  private timer: TimerHandle | undefined;
  private running = false;
  private checking: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    @inject(AuthenticateCertificate) private readonly authenticator: AuthenticateCertificate,
    @inject(X509AuthOptions) private readonly options: X509AuthOptions,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'x509' });
  }

  /** Tracks `session` until the returned function is called (when the connection ends). */
  track(session: CertificateSession): () => void {
    this.sessions.add(session);
    return () => this.sessions.delete(session);
  }

  get size(): number {
    return this.sessions.size;
  }

  async start(): Promise<ListenInfo[]> {
    this.running = true;
    this.schedule();
    return [];
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.checking;
  }

  /** Checks every live session now; resolves when the revoked ones are closed. */
  recheck(): Promise<void> {
    this.checking ??= this.checkAll().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private schedule(): void {
    if (!this.running || this.options.revocationCheckMs <= 0) return;
    this.timer = this.clock.schedule(this.options.revocationCheckMs, () => {
      void this.recheck()
        .catch((error: unknown) => this.log.error('certificate revocation check failed', { error: error instanceof Error ? error.message : String(error) }))
        .finally(() => this.schedule());
    });
  }

  private async checkAll(): Promise<void> {
    for (const session of [...this.sessions]) {
      if (!this.sessions.has(session)) continue;
      const result = await this.authenticator.execute(session.identity, session.chain);
      if (result.ok || !this.sessions.has(session)) continue;
      this.sessions.delete(session);
      this.log.warn('certificate no longer accepted, closing connection', { identity: formatIdentity(session.identity), protocol: session.protocol, reason: result.reason, detail: result.detail });
      session.close(`${result.reason}: ${result.detail}`);
    }
  }
}
