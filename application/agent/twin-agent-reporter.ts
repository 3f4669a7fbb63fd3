import { inject, injectable } from 'inversify';
import { applyReportedPatch, replacementPatch } from '../../domain/deployment/reported-diff.js';
import type { ModuleIdentity } from '../../domain/identity/identity.js';
import { HubIdentity } from '../hub/hub-identity.js';
import { TwinService } from '../hub/twin-service.js';
import { AgentReporter } from '../ports/agent-reporter.js';

/** The edge agent's module id (Azure `Constants.EdgeAgentModuleIdentityName`). */
export const EDGE_AGENT_MODULE_ID = '$edgeAgent';

/** `<edgeDevice>/$edgeAgent`. */
export function edgeAgentIdentity(hub: HubIdentity): ModuleIdentity {
  return { kind: 'module', deviceId: hub.edgeDeviceId, moduleId: EDGE_AGENT_MODULE_ID };
}

/**
 * Keeps the agent's reported properties in the `<edgeDevice>/$edgeAgent` module twin of the hub
 * running in the same process, through `TwinService.updateReported` (so they are versioned,
 * validated, notified and later synced upstream like any client's reported change).
 *
 * The first report after start is a full one (Azure reports the whole state after a restart): all
 * of the agent's state, plus `null` for what the stored twin holds that the agent no longer
 * reports (a module removed while the agent was down). After a failed update the next report is a
 * full one again, so the twin never stays behind a lost patch.
 */
@injectable()
export class TwinAgentReporter extends AgentReporter {
  /** Everything the agent has reported so far (its patches applied in order). */
  private state: Record<string, unknown> = {};
  private synced = false;
  private readonly identity: ModuleIdentity;

  constructor(
    @inject(TwinService) private readonly twins: TwinService,
    @inject(HubIdentity) hub: HubIdentity,
  ) {
    super();
    this.identity = edgeAgentIdentity(hub);
  }

  async report(patch: Record<string, unknown>): Promise<void> {
    this.state = applyReportedPatch(this.state, patch);
    let update = patch;
    if (!this.synced) {
      const stored = (await this.twins.get(this.identity)).reported.properties;
      update = replacementPatch(stored, this.state);
    }
    this.synced = false;
    await this.twins.updateReported(this.identity, update);
    this.synced = true;
  }
}
