import { inject, injectable } from 'inversify';
import { sameIdentity, type Identity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject } from '../../domain/twins/json.js';
import { ClientDirectory } from '../hub/client-directory.js';
import { HubIdentity } from '../hub/hub-identity.js';
import { MethodService } from '../hub/method-service.js';
import type { ClientChannel, ClientFeature } from '../ports/client-channel.js';
import { DeliveryError } from '../ports/endpoint-delivery.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Logger } from '../ports/logger.js';
import { AgentMethods } from './agent-methods.js';
import { edgeAgentIdentity } from './twin-agent-reporter.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The edge agent as a client of the hub in the same process: a `ClientChannel` for
 * `<edgeDevice>/$edgeAgent` that listens for direct methods only. A request runs `AgentMethods`
 * (`ping`, `RestartModule`, `GetModuleLogs`) and the answer goes back through
 * `MethodService.handleResponse`, exactly as an MQTT client's response would.
 */
class AgentMethodChannel implements ClientChannel {
  readonly protocol = 'in-process';

  constructor(
    readonly identity: Identity,
    private readonly methods: AgentMethods,
    private readonly service: MethodService,
    private readonly log: Logger,
  ) {}

  has(feature: ClientFeature): boolean {
    return feature === 'methods';
  }

  sendInput(inputName: string): Promise<void> {
    return Promise.reject(new DeliveryError(`the edge agent has no input ${JSON.stringify(inputName)}`, false));
  }

  sendDesiredPatch(_patch: JsonObject, _version: number): void {
    // The agent takes its deployment from the DeploymentSource, not from pushed patches.
  }

  sendC2d(_message: Message): Promise<void> {
    return Promise.reject(new DeliveryError('the edge agent does not receive cloud-to-device messages', false));
  }

  sendMethodRequest(methodName: string, requestId: string, payload: Uint8Array): void {
    void this.run(methodName, requestId, payload);
  }

  private async run(methodName: string, requestId: string, body: Uint8Array): Promise<void> {
    const text = decoder.decode(body);
    let payload: unknown = null;
    let answer: { status: number; payload: unknown };
    try {
      payload = text.trim() === '' ? null : (JSON.parse(text) as unknown);
      answer = await this.methods.invoke(methodName, payload);
    } catch (error) {
      answer = { status: 400, payload: { message: `the payload of ${methodName} is not JSON: ${(error as Error).message}` } };
    }
    this.log.info(`direct method ${methodName} answered ${answer.status}`, { method: methodName, status: answer.status });
    this.service.handleResponse(this.identity, requestId, answer.status, encoder.encode(JSON.stringify(answer.payload ?? null)));
  }
}

/**
 * Makes the agent's direct methods reachable through the hub's `MethodService` (and so from the
 * management API, the CLI and later the cloud) while hub and agent run in one process: registers
 * the `$edgeAgent` channel in the `ClientDirectory` on start, and again whenever another
 * connection of that identity goes away; unregisters on stop.
 */
@injectable()
export class AgentMethodEndpoint extends HostedService {
  readonly name = 'agent-methods';
  private readonly channel: AgentMethodChannel;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @inject(ClientDirectory) private readonly clients: ClientDirectory,
    @inject(MethodService) service: MethodService,
    @inject(AgentMethods) methods: AgentMethods,
    @inject(HubIdentity) hub: HubIdentity,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.channel = new AgentMethodChannel(edgeAgentIdentity(hub), methods, service, logger.child({ component: 'agent' }));
  }

  get identity(): Identity {
    return this.channel.identity;
  }

  start(): Promise<ListenInfo[]> {
    this.clients.register(this.channel);
    this.unsubscribe = this.clients.onChange((identity) => {
      if (sameIdentity(identity, this.channel.identity) && this.clients.get(identity) === undefined) this.clients.register(this.channel);
    });
    return Promise.resolve([]);
  }

  stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.clients.unregister(this.channel);
    return Promise.resolve();
  }
}
