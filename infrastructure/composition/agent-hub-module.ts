import { ContainerModule } from 'inversify';
import { AgentMethodEndpoint } from '../../application/agent/agent-method-endpoint.js';
import { TwinAgentReporter } from '../../application/agent/twin-agent-reporter.js';
import { AgentReporter } from '../../application/ports/agent-reporter.js';
import { HostedService } from '../../application/ports/hosted-service.js';

/**
 * Hub and agent in one process (`edgeport run` without `--only`): the agent's reported properties
 * go to the `<edgeDevice>/$edgeAgent` twin through the hub's `TwinService`, and the hub's
 * `MethodService` reaches the agent's direct methods as `<edgeDevice>/$edgeAgent`. Load after
 * `hubModule` and `agentModule`, so the method endpoint starts after the reconcile loop and stops
 * before it.
 */
export function agentHubModule(): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TwinAgentReporter).toSelf().inSingletonScope();
    bind(AgentReporter).toService(TwinAgentReporter);
    bind(AgentMethodEndpoint).toSelf().inSingletonScope();
    bind(HostedService).toService(AgentMethodEndpoint);
  });
}
