import type { Identity } from '../../../domain/identity/identity.js';
import type { Message } from '../../../domain/messages/message.js';
import type { RouteSpec } from '../../../domain/routing/index.js';
import type { AgentMethods } from '../../../application/agent/agent-methods.js';
import { ApplyHubDeployment } from '../../../application/hub/apply-hub-deployment.js';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { ClientEndpointDelivery } from '../../../application/hub/client-endpoint-delivery.js';
import { DeliverStoredMessages } from '../../../application/hub/deliver-stored-messages.js';
import { HubIdentity } from '../../../application/hub/hub-identity.js';
import { IngestMessage } from '../../../application/hub/ingest-message.js';
import { MethodService } from '../../../application/hub/method-service.js';
import { PipelineMetrics } from '../../../application/hub/pipeline-metrics.js';
import { PipelineOptions } from '../../../application/hub/pipeline-options.js';
import { QueueSignal } from '../../../application/hub/queue-signal.js';
import { RouteConfig } from '../../../application/hub/route-config.js';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { TwinStore } from '../../../application/hub/twin-store.js';
import { CloudToDeviceInbox } from '../../../application/ports/cloud-to-device-inbox.js';
import { ReportedOutbox } from '../../../application/upstream/reported-outbox.js';
import { TwinDeploymentSource } from '../../../application/upstream/twin-deployment-source.js';
import { UpstreamEndpointDelivery } from '../../../application/upstream/upstream-endpoint-delivery.js';
import { UpstreamSync, UpstreamSyncOptions } from '../../../application/upstream/upstream-sync.js';
import { InMemoryMessageStore } from '../../../adapters/storage/in-memory-message-store.js';
import { FakeClock } from '../fake-clock.js';
import { InMemoryMetrics } from '../in-memory-metrics.js';
import { InMemoryStateStore } from '../in-memory-state-store.js';
import { FixedRandom, SilentLogger } from '../pipeline-harness.js';
import { FakeUpstream } from './fake-upstream.js';
import type { Upstream } from '../../../application/ports/upstream.js';
import type { Clock } from '../../../application/ports/clock.js';
import type { SecretCipher } from '../../../application/ports/secret-cipher.js';
import { testCipher } from '../identity/test-cipher.js';

export class RecordingInbox extends CloudToDeviceInbox {
  readonly received: Array<{ identity: Identity; message: Message }> = [];
  async enqueue(identity: Identity, message: Message): Promise<void> {
    this.received.push({ identity, message });
  }
}

export const EDGE = new HubIdentity('edge1', 'hub.example');

/** The hub's application layer wired by hand around a `FakeUpstream` (what the composition root binds). */
export function buildUpstreamHub<U extends Upstream = FakeUpstream, C extends Clock = FakeClock>(args: { state?: InMemoryStateStore; routes?: Record<string, RouteSpec>; upstream?: U; clock?: C; agentMethods?: AgentMethods; cipher?: SecretCipher } = {}) {
  const clock = args.clock ?? (new FakeClock() as Clock as C);
  const state = args.state ?? new InMemoryStateStore();
  const store = new InMemoryMessageStore();
  const logger = new SilentLogger();
  const random = new FixedRandom();
  const options = new PipelineOptions();
  const counters = new InMemoryMetrics();
  const metrics = new PipelineMetrics(counters);
  const routes = new RouteConfig();
  const initial = routes.replace(args.routes ?? { all: { route: 'FROM /messages/* INTO $upstream', priority: 0, timeToLiveSecs: 0 } });
  if (!initial.ok) throw new Error(initial.error);
  const signal = new QueueSignal();
  const ingest = new IngestMessage(routes, store, clock, random, signal, metrics, options);
  const directory = new ClientDirectory();
  const upstream = args.upstream ?? (new FakeUpstream() as Upstream as U);
  const delivery = new UpstreamEndpointDelivery(new ClientEndpointDelivery(directory, EDGE), upstream, EDGE);
  const pumps = new DeliverStoredMessages(store, delivery, signal, clock, random, metrics, options, logger);
  const twins = new TwinService(new TwinStore(state), directory, ingest, clock, EDGE, logger);
  const methods = new MethodService(directory, clock, random, logger);
  const identities = new StateIdentityStore(state, args.cipher ?? testCipher());
  const outbox = new ReportedOutbox(state);
  const inbox = new RecordingInbox();
  const deployment = new TwinDeploymentSource(twins, EDGE, logger);
  const sync = new UpstreamSync(upstream, twins, methods, directory, identities, state, outbox, EDGE, clock, logger, new UpstreamSyncOptions(), inbox, args.agentMethods, deployment);
  const hubDeployment = new ApplyHubDeployment(deployment, routes, options, twins, EDGE, logger);
  return { clock, state, store, logger, options, counters, routes, ingest, directory, upstream, delivery, pumps, twins, methods, identities, outbox, inbox, sync, deployment, hubDeployment };
}
