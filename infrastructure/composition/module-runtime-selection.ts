import { request } from 'node:http';
import type { EdgeportConfig } from '../config/load-config.js';

/** `docker+process`: each module on the runtime of its `type`. */
export type ModuleRuntimeKind = 'docker' | 'process' | 'docker+process';

export interface ModuleRuntimeChoice {
  kind: ModuleRuntimeKind;
  reason: string;
}

/** True when a Docker engine answers `GET /_ping` on the unix socket within `timeoutMs`. */
export async function dockerAnswers(socketPath: string, timeoutMs = 1500): Promise<boolean> {
  return await new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * `agent.runtime = "auto"` runs `type: "docker"` modules on Docker and `type: "process"` modules
 * as processes when a Docker engine answers on its socket, and only processes otherwise, so
 * `npm start` works on a machine without Docker. An explicit choice is honoured as given.
 */
export async function selectModuleRuntime(
  agent: Pick<EdgeportConfig['agent'], 'runtime' | 'dockerSocket'>,
  probe: (socketPath: string) => Promise<boolean> = dockerAnswers,
): Promise<ModuleRuntimeChoice> {
  if (agent.runtime === 'docker') return { kind: 'docker', reason: 'agent.runtime = "docker"' };
  if (agent.runtime === 'process') return { kind: 'process', reason: 'agent.runtime = "process"' };
  return (await probe(agent.dockerSocket))
    ? { kind: 'docker+process', reason: `a Docker engine answers on ${agent.dockerSocket}: type "docker" modules as containers, type "process" modules as processes` }
    : { kind: 'process', reason: `no Docker engine answers on ${agent.dockerSocket}` };
}
