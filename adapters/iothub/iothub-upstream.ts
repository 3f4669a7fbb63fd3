import type { Connection } from 'rhea';
import { DeliveryError, type DeliveryResult } from '../../application/ports/endpoint-delivery.js';
import type { IdentityRecord } from '../../application/ports/identity-store.js';
import type { Logger } from '../../application/ports/logger.js';
import { Upstream, UpstreamError, type ConnectionListener, type UpstreamCapabilities, type UpstreamFeature, type UpstreamHandlers } from '../../application/ports/upstream.js';
import { type Identity, deviceIdentity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject } from '../../domain/twins/json.js';
import type { TwinDocument } from '../../domain/twins/twin-document.js';
import { CbsTokenAuthenticator } from './cbs-token-authenticator.js';
import { CloudIdentities, type CloudIdentity } from './cloud-identities.js';
import { CloudToDeviceLink } from './cloud-to-device-link.js';
import { DeviceScopeClient } from './device-scope-client.js';
import { IotHubConnection } from './iothub-connection.js';
import { operationTimeoutOf, type IotHubUpstreamDeps, type IotHubUpstreamOptions } from './iothub-options.js';
import type { LinkContext } from './link-handler.js';
import { MethodLink } from './method-link.js';
import { TelemetryLink } from './telemetry-link.js';
import { TwinLink } from './twin-link.js';

export type { IotHubUpstreamDeps, IotHubUpstreamOptions } from './iothub-options.js';

/**
 * IoT Hub over ONE AMQP 1.0 connection (rhea) for every identity of the device: the edge device,
 * `$edgeAgent`, `$edgeHub`, modules and leaf devices, split along the lines of Azure's edgeHub:
 *
 * - `IotHubConnection`: the connection, heartbeats, reconnects with back-off and jitter;
 * - `CbsTokenAuthenticator`: each identity's CBS put-token (its own key, else the edge device's on
 *   its behalf) and renewals on the same link;
 * - one handler per link kind, attached per identity on first use: `TelemetryLink` (events, batched
 *   transfers), `TwinLink` (twin requests, desired patches), `MethodLink`, `CloudToDeviceLink`;
 * - `DeviceScopeClient`: the device scope and module identities over HTTPS.
 *
 * This class wires them and answers the `Upstream` port. After a reconnect every identity
 * re-authenticates lazily and the application resyncs on the connect event.
 */
export class IotHubUpstream extends Upstream {
  readonly kind = 'iothub';
  readonly capabilities: UpstreamCapabilities = { twins: true, methods: true, cloudToDevice: true, deviceScope: true };
  private handlers: UpstreamHandlers | undefined;
  private readonly log: Logger;
  private readonly identities = new CloudIdentities();
  private readonly connection: IotHubConnection;
  private readonly authenticator: CbsTokenAuthenticator;
  private readonly telemetry: TelemetryLink;
  private readonly twins: TwinLink;
  private readonly methods: MethodLink;
  private readonly cloudToDevice: CloudToDeviceLink;
  private readonly scope: DeviceScopeClient;

  constructor(
    private readonly options: IotHubUpstreamOptions,
    deps: IotHubUpstreamDeps,
  ) {
    super();
    this.log = deps.logger.child({ component: 'upstream-iothub' });
    this.connection = new IotHubConnection(options, { clock: deps.clock, random: deps.random, log: this.log }, { setUp: (connection) => this.setUp(connection), lost: (reason) => this.lost(reason) });
    this.authenticator = new CbsTokenAuthenticator(options, { identities: deps.identities, signer: deps.signer, clock: deps.clock, log: this.log }, this.connection);
    const context: LinkContext = { connection: this.connection, authenticator: this.authenticator, clock: deps.clock, log: this.log, operationTimeoutMs: operationTimeoutOf(options), handlers: () => this.handlers };
    this.telemetry = new TelemetryLink(context);
    this.twins = new TwinLink(context);
    this.methods = new MethodLink(context);
    this.cloudToDevice = new CloudToDeviceLink(context);
    this.scope = new DeviceScopeClient(options, {
      clock: deps.clock,
      log: this.log,
      edgeToken: async () => (options.x509 !== undefined ? undefined : (await this.authenticator.token(this.edgeDevice())).token),
      identityToken: async (identity) => (await this.authenticator.token(this.identities.of(identity))).token,
    });
  }

  /** Connection attempts so far (tests and logs). */
  get connectAttempts(): number {
    return this.connection.connectAttempts;
  }

  /** Connections that were set up so far (tests and logs). */
  get connectionsEstablished(): number {
    return this.connection.connectionsEstablished;
  }

  async start(handlers: UpstreamHandlers): Promise<void> {
    this.handlers = handlers;
    this.connection.start();
  }

  async stop(): Promise<void> {
    await this.connection.stop();
    await this.scope.close();
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  onConnectionChange(listener: ConnectionListener): () => void {
    return this.connection.onConnectionChange(listener);
  }

  async sendEvents(identity: Identity, messages: readonly Message[]): Promise<DeliveryResult> {
    if (!this.isConnected()) return { delivered: 0, error: new DeliveryError('not connected to IoT Hub', true) };
    return await this.telemetry.send(this.identities.of(identity), messages);
  }

  async getTwin(identity: Identity): Promise<TwinDocument> {
    return await this.twins.getTwin(this.identities.of(identity));
  }

  async updateReported(identity: Identity, patch: JsonObject): Promise<void> {
    await this.twins.updateReported(this.identities.of(identity), patch);
  }

  async setFeatures(identity: Identity, features: ReadonlySet<UpstreamFeature>): Promise<void> {
    const cloud = this.identities.of(identity);
    const previous = cloud.features;
    cloud.features = new Set(features);
    if (!this.isConnected()) return;
    if (features.has('desired')) await this.twins.subscribeDesired(cloud);
    else if (previous.has('desired')) await this.twins.unsubscribeDesired(cloud);
    if (features.has('methods')) await this.methods.open(cloud);
    else this.methods.close(cloud);
    if (features.has('c2d') && identity.kind === 'device') await this.cloudToDevice.open(cloud);
    else this.cloudToDevice.close(cloud);
    if (features.size === 0) {
      this.twins.close(cloud);
      this.telemetry.close(cloud);
    }
  }

  async deviceScope(): Promise<IdentityRecord[]> {
    if (!this.isConnected()) throw new UpstreamError('not connected to IoT Hub', true);
    return await this.scope.deviceScope();
  }

  async createModuleIdentity(moduleId: string): Promise<void> {
    if (!this.isConnected()) throw new UpstreamError('not connected to IoT Hub', true);
    await this.scope.createModuleIdentity(moduleId);
  }

  override async targetDeviceScope(deviceId: string): Promise<IdentityRecord[]> {
    if (!this.isConnected()) throw new UpstreamError('not connected to IoT Hub', true);
    return await this.scope.targetDeviceScope(deviceId);
  }

  override async createTargetModuleIdentity(deviceId: string, moduleId: string): Promise<void> {
    if (!this.isConnected()) throw new UpstreamError('not connected to IoT Hub', true);
    await this.scope.createTargetModuleIdentity(deviceId, moduleId);
  }

  private edgeDevice(): CloudIdentity {
    return this.identities.of(deviceIdentity(this.options.connection.deviceId));
  }

  /**
   * A new connection counts once its CBS links are open and the edge device's token was taken;
   * an X.509 edge device is authenticated by its certificate (no token): its twin link is
   * attached at once, so a refused certificate fails the set-up as a refused token would.
   */
  private async setUp(connection: Connection): Promise<void> {
    await this.authenticator.open(connection);
    if (this.options.x509 === undefined) await this.authenticator.authenticate(this.edgeDevice());
    else await this.twins.attach(this.edgeDevice());
  }

  /** Forgets everything bound to the lost connection; pending work fails transiently. */
  private lost(reason: string): void {
    const failure = new UpstreamError(`IoT Hub connection lost: ${reason}`, true);
    this.authenticator.connectionLost(failure);
    for (const links of [this.twins, this.telemetry, this.methods, this.cloudToDevice]) links.connectionLost(failure);
  }
}
