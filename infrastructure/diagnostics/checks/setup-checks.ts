import { readableByOthers, readRegistryCredentialsFile } from '../../config/registry-credentials-file.js';
import type { CheckContext } from '../check-context.js';
import { type Check, failure, ok, warning } from '../check-model.js';

/** Whether the runtime answers on its management socket (which checks below depend on it). */
export const runtimeCheck: Check<CheckContext> = {
  id: 'runtime-running',
  description: 'runtime is running',
  async run(context) {
    const runtime = await context.runtime();
    if (runtime.running) return ok(runtime.modules === undefined ? `answers on its management socket (${runtime.agentNote ?? 'no agent'})` : `answers on its management socket with ${runtime.modules.length} modules`);
    return warning(`not running (${runtime.reason}); checked the configuration and stored state only`, `start it (edgeport run${context.config.source.file !== null ? ` -c ${context.config.source.file}` : ''}, or docker start / systemctl start)`);
  },
};

/** The registry credentials file, when configured: readable, valid and mode 0600. */
export const registryCredentialsCheck: Check<CheckContext> = {
  id: 'registry-credentials',
  description: 'registry credentials file is valid and private',
  async run({ config }) {
    const path = config.agent.registryCredentialsFile;
    if (path === '') return ok('none configured (agent.registryCredentialsFile); deployments may carry their own');
    let count: number;
    try {
      count = readRegistryCredentialsFile(path).length;
    } catch (error) {
      return failure((error as Error).message, 'fix the file (edgeport setup --force rewrites it) or agent.registryCredentialsFile');
    }
    if (readableByOthers(path)) return warning(`${path} (${count} registries) is readable by group or others`, `chmod 600 ${path}`);
    return ok(`${path}: ${count} registr${count === 1 ? 'y' : 'ies'}, mode 0600`);
  },
};
