import { inject, injectable } from 'inversify';
import { parseAgentTwinDesired, type ParsedDeployment } from '../../domain/deployment/deployment-manifest.js';
import { parseHubDesired } from '../../domain/deployment/hub-desired.js';
import { moduleIdentity, sameIdentity } from '../../domain/identity/identity.js';
import type { TwinSection } from '../../domain/twins/twin-document.js';
import { DeploymentSource } from '../ports/deployment-source.js';
import { Logger } from '../ports/logger.js';
import { HubIdentity } from '../hub/hub-identity.js';
import { TwinService } from '../hub/twin-service.js';

export const EDGE_AGENT_MODULE_ID = '$edgeAgent';
export const EDGE_HUB_MODULE_ID = '$edgeHub';

function withVersion(section: TwinSection): Record<string, unknown> {
  return { ...section.properties, $version: section.$version };
}

/**
 * The deployment from the `$edgeAgent` and `$edgeHub` twins (connected mode). The twins live in
 * the local twin store, kept in sync with IoT Hub by `UpstreamSync`, so the last deployment keeps
 * running after a restart while the cloud is away. A snapshot's `version` is the `$edgeAgent`
 * desired `$version` (the agent reports it as `lastDesiredVersion`); a change of `$edgeHub` alone
 * gives a new snapshot with the same version, which the hub applies and the agent ignores.
 */
@injectable()
export class TwinDeploymentSource extends DeploymentSource {
  private unsubscribe: (() => void) | undefined;
  private reading: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    @inject(TwinService) private readonly twins: TwinService,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'deployment-twin' });
  }

  protected async open(): Promise<void> {
    const agent = moduleIdentity(this.hub.edgeDeviceId, EDGE_AGENT_MODULE_ID);
    const hub = moduleIdentity(this.hub.edgeDeviceId, EDGE_HUB_MODULE_ID);
    this.unsubscribe = this.twins.onChange((change) => {
      if (change.section !== 'desired') return;
      if (sameIdentity(change.identity, agent) || sameIdentity(change.identity, hub)) void this.read();
    });
    await this.read();
  }

  protected async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.reading;
  }

  /** Re-reads both twins (serialized) and publishes a snapshot when either desired section changed. */
  read(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce()).catch((error: unknown) => {
      this.log.error('reading the deployment twins failed', { error: error instanceof Error ? error.message : String(error) });
    });
    return this.reading;
  }

  private lastKey = '';

  private async readOnce(): Promise<void> {
    const agentTwin = await this.twins.get(moduleIdentity(this.hub.edgeDeviceId, EDGE_AGENT_MODULE_ID));
    const hubTwin = await this.twins.get(moduleIdentity(this.hub.edgeDeviceId, EDGE_HUB_MODULE_ID));
    const key = `${agentTwin.desired.$version}/${hubTwin.desired.$version}`;
    if (key === this.lastKey && this.current() !== undefined) return;
    this.lastKey = key;
    const deployment: ParsedDeployment = parseAgentTwinDesired(withVersion(agentTwin.desired));
    if (Object.keys(hubTwin.desired.properties).length > 0) {
      deployment.hub = parseHubDesired(hubTwin.desired.properties);
      deployment.hubDesiredVersion = hubTwin.desired.$version;
    }
    if (!deployment.agent.ok) this.log.info(`$edgeAgent desired version ${agentTwin.desired.$version} is not usable: ${deployment.agent.status.description}`, { code: deployment.agent.status.code });
    else this.log.info(`deployment from the $edgeAgent twin (version ${agentTwin.desired.$version})`);
    this.publish({ version: agentTwin.desired.$version, deployment });
  }
}
