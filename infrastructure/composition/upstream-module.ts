import { ContainerModule } from 'inversify';
import { Clock } from '../../application/ports/clock.js';
import { CloudToDeviceInbox } from '../../application/ports/cloud-to-device-inbox.js';
import { SasSigner } from '../../application/ports/crypto.js';
import { DeploymentSource } from '../../application/ports/deployment-source.js';
import { EndpointDelivery } from '../../application/ports/endpoint-delivery.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { IdentityStore } from '../../application/ports/identity-store.js';
import { Logger } from '../../application/ports/logger.js';
import { RandomSource } from '../../application/ports/random-source.js';
import { Upstream } from '../../application/ports/upstream.js';
import { CloudToDeviceService } from '../../application/hub/cloud-to-device-service.js';
import { ReportedOutbox } from '../../application/upstream/reported-outbox.js';
import { ServiceCloudToDeviceInbox } from '../../application/upstream/service-cloud-to-device-inbox.js';
import { TwinDeploymentSource } from '../../application/upstream/twin-deployment-source.js';
import { UpstreamEndpointDelivery } from '../../application/upstream/upstream-endpoint-delivery.js';
import { UpstreamSync, UpstreamSyncOptions } from '../../application/upstream/upstream-sync.js';
import { NestedDeviceScope } from '../../application/upstream/nested-device-scope.js';
import { DeviceScopeParents } from '../../application/hub/device-scope-parents.js';
import { HttpsListener } from '../../adapters/http/https-listener.js';
import { NestedEdgeApi } from '../../adapters/http/nested-edge-api.js';
import { Amqp091Upstream } from '../../adapters/amqp091/amqp091-upstream.js';
import { parseDeviceConnectionString } from '../../adapters/iothub/connection-string.js';
import { IotHubUpstream } from '../../adapters/iothub/iothub-upstream.js';

export { readCaFile } from './upstream-ca-file.js';

export type UpstreamModuleOptions =
  | {
      kind: 'iothub';
      connectionString: string;
      host?: string;
      amqpPort?: number;
      httpsPort?: number;
      /** PEM text (already read). */
      ca?: string;
      tokenTtlSeconds?: number;
      maxReconnectDelayMs?: number;
      /** X.509 device certificate and key PEM (already read), for a connection string with `x509=true`. */
      x509?: { cert: string; key: string };
      /** Take the deployment from the `$edgeAgent`/`$edgeHub` twins (replaces the file source). */
      twinDeployment: boolean;
      sync?: Partial<UpstreamSyncOptions>;
    }
  | { kind: 'amqp091'; url: string; exchange: string; sync?: Partial<UpstreamSyncOptions> };

/**
 * The upstream (after `hubModule`, which it completes): the chosen `Upstream` adapter, `$upstream`
 * delivery through it (rebinding `EndpointDelivery`), the twin/method/C2D/device-scope sync, and
 * for IoT Hub the twin-backed deployment source (rebinding `DeploymentSource`).
 */
export function upstreamModule(options: UpstreamModuleOptions): ContainerModule {
  return new ContainerModule(({ bind, rebind, isBound, onActivation }) => {
    if (options.kind === 'iothub') {
      const connection = parseDeviceConnectionString(options.connectionString);
      bind(Upstream)
        .toDynamicValue((context) => {
          const random = context.get(RandomSource);
          return new IotHubUpstream(
            {
              connection,
              ...(options.host !== undefined && options.host !== '' ? { host: options.host } : {}),
              ...(options.amqpPort !== undefined ? { amqpPort: options.amqpPort } : {}),
              ...(options.httpsPort !== undefined ? { httpsPort: options.httpsPort } : {}),
              ...(options.ca !== undefined ? { ca: options.ca } : {}),
              ...(options.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
              ...(options.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: options.maxReconnectDelayMs } : {}),
              ...(options.x509 !== undefined ? { x509: options.x509 } : {}),
            },
            { identities: context.get(IdentityStore), signer: context.get(SasSigner), clock: context.get(Clock), logger: context.get(Logger), random: () => random.next() },
          );
        })
        .inSingletonScope();
      // A parent for nested edge devices: their registry calls (device scope, module identities)
      // on the HTTPS listener, and their keys signing for their scopes (on behalf of).
      bind(DeviceScopeParents).toSelf().inSingletonScope();
      bind(NestedDeviceScope).toSelf().inSingletonScope();
      if (isBound(HttpsListener)) {
        bind(NestedEdgeApi).toSelf().inSingletonScope();
        onActivation(HttpsListener, (context, listener) => {
          context.get(NestedEdgeApi).register(listener);
          return listener;
        });
      }
      if (options.twinDeployment) {
        bind(TwinDeploymentSource).toSelf().inSingletonScope();
        if (isBound(DeploymentSource)) rebind(DeploymentSource).toService(TwinDeploymentSource);
        else bind(DeploymentSource).toService(TwinDeploymentSource);
      }
    } else {
      bind(Upstream)
        .toDynamicValue((context) => new Amqp091Upstream({ url: options.url, exchange: options.exchange }, context.get(Logger)))
        .inSingletonScope();
    }
    bind(UpstreamEndpointDelivery).toSelf().inSingletonScope();
    rebind(EndpointDelivery).toService(UpstreamEndpointDelivery);
    bind(UpstreamSyncOptions).toConstantValue(new UpstreamSyncOptions(options.sync));
    bind(ReportedOutbox).toSelf().inSingletonScope();
    if (isBound(CloudToDeviceService)) bind(CloudToDeviceInbox).to(ServiceCloudToDeviceInbox).inSingletonScope();
    bind(UpstreamSync).toSelf().inSingletonScope();
    bind(HostedService).toService(UpstreamSync);
  });
}
