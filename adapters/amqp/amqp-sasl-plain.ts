import type { Connection } from 'rhea';
import type { Identity } from '../../domain/identity/identity.js';

/** Checks a SASL PLAIN user name and password (a SAS token); undefined when refused. */
export type PlainAuthenticator = (user: string, password: string) => Promise<{ identity: Identity; expiresAtMs: number } | undefined>;

/** SASL PLAIN on the server side: authenticates through `authenticate` and keeps the result for `connection_open`. */
export class PlainMechanism {
  outcome: boolean | undefined = undefined;
  username: string | undefined = undefined;
  result: { identity: Identity; expiresAtMs: number } | undefined = undefined;

  constructor(private readonly authenticate: PlainAuthenticator) {}

  async start(response: Buffer | undefined): Promise<void> {
    // authzid NUL authcid NUL password (RFC 4616).
    const fields = (response ?? Buffer.alloc(0)).toString('utf8').split('\u0000');
    if (fields.length !== 3) {
      this.outcome = false;
      return;
    }
    this.result = await this.authenticate(fields[1] ?? '', fields[2] ?? '');
    this.outcome = this.result !== undefined;
    this.username = fields[1];
  }
}

/** The SASL mechanism object rhea used for a server connection (internal fields; rhea has no public accessor). */
export function saslMechanism(connection: Connection): PlainMechanism | undefined {
  const transport = (connection as unknown as { sasl_transport?: { selected?: { mechanism?: unknown }; mechanism?: unknown } }).sasl_transport;
  const mechanism = transport?.selected?.mechanism ?? transport?.mechanism;
  return mechanism instanceof PlainMechanism ? mechanism : undefined;
}

/**
 * SASL EXTERNAL on the server side: the TLS client certificate is the credential. It succeeds when
 * the client sent one; which identity it proves is decided per identity as its links attach
 * (`AmqpAuthentication.certificateLogin`), as IoT Hub does for X.509 devices.
 */
export class ExternalMechanism {
  outcome: boolean | undefined = undefined;
  username: string | undefined = undefined;

  constructor(private readonly hasCertificate: () => boolean) {}

  start(): void {
    this.outcome = this.hasCertificate();
  }
}
