import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import { type Message, MessageTooLargeError } from '../../domain/messages/message.js';
import type { JsonObject, JsonValue } from '../../domain/twins/json.js';
import { TwinValidationError } from '../../domain/twins/twin-limits.js';
import { twinResponseBody } from '../../domain/twins/twin-document.js';
import { AuthenticateClient } from '../../application/hub/authenticate-client.js';
import { AuthenticateCertificate } from '../../application/hub/authenticate-certificate.js';
import { CertificateSessions } from '../../application/hub/certificate-sessions.js';
import { ClientDirectory } from '../../application/hub/client-directory.js';
import { HubIdentity } from '../../application/hub/hub-identity.js';
import { IngestMessage } from '../../application/hub/ingest-message.js';
import { MethodService } from '../../application/hub/method-service.js';
import { TwinService } from '../../application/hub/twin-service.js';
import type { ClientChannel, ClientFeature } from '../../application/ports/client-channel.js';
import { Logger } from '../../application/ports/logger.js';
import { DiskFullError, StoreFullError, StoreUnavailableError } from '../../application/ports/message-store.js';
import { type AmqpAuthRequest, type AmqpAuthResult, type AmqpCertificateRequest, type AmqpBackend, type AmqpClient, AmqpCondition, AmqpRefusal, type TwinReply } from './amqp-backend.js';

/** An AMQP client as the application's `ClientDirectory` sees it. */
class AmqpClientChannel implements ClientChannel {
  readonly protocol = 'amqp';
  constructor(readonly client: AmqpClient) {}
  get identity(): Identity {
    return this.client.identity;
  }
  has(feature: ClientFeature): boolean {
    return this.client.has(feature);
  }
  sendInput(inputName: string, message: Message): Promise<void> {
    return this.client.sendInput(inputName, message);
  }
  sendC2d(message: Message): Promise<void> {
    return this.client.sendC2d(message);
  }
  sendDesiredPatch(patch: JsonObject, version: number): void {
    this.client.sendDesiredPatch(patch, version);
  }
  sendMethodRequest(methodName: string, requestId: string, payload: Uint8Array): void {
    this.client.sendMethodRequest(methodName, requestId, payload);
  }
}

/**
 * The edge hub behind the AMQP server core: SAS tokens checked by `AuthenticateClient` (as for
 * MQTT), messages into `IngestMessage` (accepted = stored), twins through `TwinService`, method
 * responses to `MethodService`, and every authenticated client registered in the
 * `ClientDirectory` as a `ClientChannel` so module inputs, C2D, desired patches and method
 * requests reach it. No routing, twin or method logic here.
 */
@injectable()
export class EdgeHubAmqpBackend implements AmqpBackend {
  private readonly channels = new Map<AmqpClient, AmqpClientChannel>();
  /** Revocation tracking of certificate-authenticated clients. */
  private readonly untrack = new Map<AmqpClient, () => void>();
  private readonly log: Logger;

  constructor(
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(AuthenticateClient) private readonly authenticator: AuthenticateClient,
    @inject(IngestMessage) private readonly ingest: IngestMessage,
    @inject(TwinService) private readonly twins: TwinService,
    @inject(MethodService) private readonly methods: MethodService,
    @inject(ClientDirectory) private readonly directory: ClientDirectory,
    @inject(Logger) logger: Logger,
    @inject(AuthenticateCertificate) private readonly certificates: AuthenticateCertificate,
    @inject(CertificateSessions) private readonly certificateSessions: CertificateSessions,
  ) {
    this.log = logger.child({ component: 'amqp' });
  }

  async authenticateCertificate(request: AmqpCertificateRequest): Promise<AmqpAuthResult> {
    const result = await this.certificates.execute(request.identity, request.chain);
    if (result.ok) return { ok: true, identity: result.identity, expiresAtMs: result.expiresAtMs };
    return { ok: false, status: 401, description: `${result.reason}: ${result.detail}`, reason: result.reason };
  }

  async authenticate(request: AmqpAuthRequest): Promise<AmqpAuthResult> {
    const result = await this.authenticator.execute({
      identity: request.identity,
      token: request.token,
      iotHubHostName: this.hub.iotHubHostName,
      ...(this.hub.edgeHostName !== undefined ? { edgeHostName: this.hub.edgeHostName } : {}),
    });
    if (result.ok) return { ok: true, identity: result.identity, expiresAtMs: result.expiresAtMs };
    // reason and detail are token-free by contract.
    return { ok: false, status: 401, description: `${result.reason}: ${result.detail}`, reason: result.reason };
  }

  clientConnected(client: AmqpClient): void {
    const previous = this.directory.get(client.identity);
    const channel = new AmqpClientChannel(client);
    this.channels.set(client, channel);
    this.directory.register(channel);
    const chain = client.certificateChain;
    if (chain !== undefined) this.untrack.set(client, this.certificateSessions.track({ identity: client.identity, chain, protocol: 'amqp', close: (reason) => client.close(reason) }));
    // One connection per identity (edgeHub closes the older one, iotedge-semantics.md §8).
    if (previous instanceof AmqpClientChannel && previous.client !== client) {
      this.log.info('a new connection took over', { identity: formatIdentity(client.identity), previous: previous.client.connectionId, current: client.connectionId });
      previous.client.close('another connection of this identity took over', AmqpCondition.detachForced);
    }
  }

  clientChanged(client: AmqpClient): void {
    if (this.channels.has(client)) this.directory.changed(client.identity);
  }

  clientDisconnected(client: AmqpClient): void {
    this.untrack.get(client)?.();
    this.untrack.delete(client);
    const channel = this.channels.get(client);
    if (channel === undefined) return;
    this.channels.delete(client);
    this.directory.unregister(channel);
  }

  async receiveMessage(client: AmqpClient, message: Message): Promise<void> {
    const identity = client.identity;
    try {
      await this.ingest.ingest(message, identity.kind === 'module' ? { deviceId: identity.deviceId, moduleId: identity.moduleId } : { deviceId: identity.deviceId });
    } catch (error) {
      if (error instanceof MessageTooLargeError) throw new AmqpRefusal(AmqpCondition.messageSize, error.message);
      if (error instanceof StoreFullError || error instanceof DiskFullError) throw new AmqpRefusal(AmqpCondition.resourceLimit, error.message);
      if (error instanceof StoreUnavailableError) throw new AmqpRefusal(AmqpCondition.internal, error.message);
      throw error;
    }
  }

  async getTwin(client: AmqpClient): Promise<TwinReply> {
    const twin = await this.twins.get(client.identity);
    return { status: 200, body: twinResponseBody(twin) };
  }

  async patchReported(client: AmqpClient, patch: JsonValue): Promise<TwinReply> {
    try {
      const { version } = await this.twins.updateReported(client.identity, patch);
      return { status: 204, version };
    } catch (error) {
      if (error instanceof TwinValidationError) {
        this.log.warn('reported patch refused', { identity: formatIdentity(client.identity), reason: error.code, detail: error.message });
        return { status: 400, body: { errorCode: 400004, message: error.message } };
      }
      throw error;
    }
  }

  methodResponse(client: AmqpClient, requestId: string, status: number, payload: Uint8Array): void {
    this.methods.handleResponse(client.identity, requestId, status, payload);
  }
}
