import { parseAgentDesired } from '../../../domain/deployment/agent-desired.js';
import type { CheckContext } from '../check-context.js';
import { checkManifest } from '../../cli/manifest-check.js';
import { type Check, type CheckOutcome, failure, ok, skipped, warning, worst } from '../check-model.js';

/** Names of the deployment's `type: "docker"` modules (undefined when there is no valid deployment). */
export async function dockerModulesOf(context: CheckContext): Promise<string[] | undefined> {
  const deployment = await context.deployment();
  if (deployment.desired === undefined) return undefined;
  const parsed = parseAgentDesired(deployment.desired);
  return parsed.ok ? parsed.value.modules.filter((m) => m.type === 'docker').map((m) => m.name) : undefined;
}

/**
 * The Docker engine answers on `agent.dockerSocket` (and its version) when the runtime needs it:
 * `agent.runtime = "docker"`, or a deployment with Docker modules. Without that need an absent
 * engine is fine.
 */
export const dockerCheck: Check<CheckContext> = {
  id: 'docker-engine',
  description: 'Docker engine answers when the deployment needs it',
  async run(context) {
    const { agent } = context.config;
    if (!agent.enabled) return ok('not needed: the agent is disabled (agent.enabled = false)');
    const engine = await context.docker();
    const dockerModules = (await dockerModulesOf(context)) ?? [];
    const needs =
      agent.runtime === 'docker' ? 'agent.runtime = "docker"' : dockerModules.length > 0 ? `the deployment has Docker modules (${dockerModules.join(', ')})` : undefined;
    if (!(engine instanceof Error)) {
      if (agent.runtime === 'process' && dockerModules.length > 0) {
        return failure(`the deployment has Docker modules (${dockerModules.join(', ')}) but agent.runtime = "process" runs only process modules`, 'set agent.runtime to "auto" or "docker" (EDGEPORT_AGENT_RUNTIME)');
      }
      return ok(`Docker ${engine.version} (API ${engine.apiVersion}) answers on ${agent.dockerSocket}`);
    }
    if (needs === undefined) return ok(`not needed (no Docker modules in the deployment); no engine on ${agent.dockerSocket}: ${engine.message}`);
    if (agent.runtime === 'process') return failure(`${needs} but agent.runtime = "process"`, 'set agent.runtime to "auto" or "docker" and make a Docker engine available');
    return failure(
      `${needs} but no Docker engine answers on ${agent.dockerSocket}: ${engine.message}`,
      `start Docker (systemctl start docker), or mount its socket into the Edgeport container (-v /var/run/docker.sock:/var/run/docker.sock), or set agent.dockerSocket (EDGEPORT_AGENT_DOCKER_SOCKET)`,
    );
  },
};

/**
 * The deployment is valid: the manifest (standalone) validates as the agent will validate it, and
 * while the runtime runs, the status the agent last reported (`lastDesiredStatus.code`) is 200.
 */
export const deploymentCheck: Check<CheckContext> = {
  id: 'deployment',
  description: 'deployment status is 200',
  async run(context) {
    const deployment = await context.deployment();
    if (deployment.problem !== undefined) return failure(deployment.problem, 'fix agent.manifest, or deploy a manifest: edgeport deploy <manifest.json>');
    const outcomes: CheckOutcome[] = [];
    let summary = '';
    if (deployment.manifestText !== undefined) {
      const checked = checkManifest(deployment.manifestText);
      if (!checked.ok) outcomes.push(failure(`${deployment.source}: ${checked.problems.join('; ')}`, `fix the manifest (edgeport deploy <file> --dry-run lists every problem)`));
      else summary = checked.summary;
    } else if (deployment.desired !== undefined) {
      const parsed = parseAgentDesired(deployment.desired);
      if (!parsed.ok) outcomes.push(failure(`${deployment.source}: ${parsed.status.code} ${parsed.status.description}`, 'fix the deployment in IoT Hub'));
      else summary = `${parsed.value.modules.length} modules`;
    } else {
      return warning(`no deployment: ${deployment.source} (the agent reports 417, empty configuration)`, 'deploy a manifest: edgeport deploy <manifest.json> (standalone), or set the deployment in IoT Hub (connected)');
    }
    const runtime = await context.runtime();
    if (runtime.running && runtime.modules !== undefined) {
      const inspection = await context.store();
      const reported = inspection instanceof Error ? undefined : (inspection?.edgeAgentTwin?.reported?.['lastDesiredStatus'] as { code?: number; description?: string } | undefined);
      if (reported?.code !== undefined && reported.code !== 200) {
        outcomes.push(failure(`the agent reports ${reported.code}${reported.description ? ` (${reported.description})` : ''}`, 'see the runtime log (edgeport support-bundle collects it) and fix the deployment'));
      } else if (reported?.code === 200) {
        summary = `${summary}; the agent reports 200`;
      }
    }
    return worst(outcomes, `${deployment.source} is valid (${summary})`);
  },
};

/**
 * Every route condition of a local manifest can match: one that compares an application property
 * (a string) with a number (`temp > 100`) is accepted, as Azure accepts it, but never yields true.
 * A warning, never an error (the hub runs such routes). A route into `$upstream` without an
 * upstream is not judged here: the runtime warns about it at start, and a standalone device that
 * queues for a later upstream (the temperature example) is a healthy setup.
 */
export const routesCheck: Check<CheckContext> = {
  id: 'routes-can-match',
  description: 'every route condition can match',
  async run(context) {
    const deployment = await context.deployment();
    if (deployment.manifestText === undefined) return skipped(deployment.problem ?? `no local manifest to read routes from (${deployment.source})`);
    const checked = checkManifest(deployment.manifestText);
    if (checked.routeWarnings.length === 0) return ok(`${deployment.source}: every route condition can match`);
    return worst(
      checked.routeWarnings.map((line) => warning(line, 'application properties are strings: compare numbers with as_number(<property>) > 100')),
      '',
    );
  },
};

/** No module is failed or restarting in back-off (the running runtime's `list`). */
export const modulesCheck: Check<CheckContext> = {
  id: 'modules',
  description: 'modules are running (none failed or in back-off)',
  async run(context) {
    const runtime = await context.runtime();
    if (!runtime.running) return skipped('the runtime is not running');
    if (runtime.modules === undefined) return skipped(runtime.agentNote ?? 'the agent does not run');
    const outcomes: CheckOutcome[] = [];
    for (const module of runtime.modules) {
      const restarts = module.restartCount === undefined ? '' : `, ${module.restartCount} restarts`;
      if (module.status === 'failed' && module.desiredStatus !== 'stopped') {
        outcomes.push(failure(`${module.name} failed (exit ${module.exitCode}${restarts})`, `read its output: edgeport logs ${module.name} --tail 50`));
      } else if (module.status === 'backoff') {
        outcomes.push(warning(`${module.name} is restarting in back-off (${module.description ?? `exit ${module.exitCode}`}${restarts})`, `read its output: edgeport logs ${module.name} --tail 50`));
      } else if (module.status === 'unhealthy') {
        outcomes.push(warning(`${module.name} is unhealthy`, `read its output: edgeport logs ${module.name} --tail 50`));
      }
    }
    const running = runtime.modules.filter((m) => m.status === 'running').length;
    return worst(outcomes, `${running} of ${runtime.modules.length} modules running`);
  },
};
