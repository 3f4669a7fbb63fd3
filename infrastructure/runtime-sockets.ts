import { join, resolve } from 'node:path';

/**
 * The runtime's unix sockets under `<dataDir>/sockets`. The workload socket has a directory of its
 * own, which Docker modules get mounted: they must not reach the management socket. A module of its
 * own (no packages) so that the CLI finds the management socket without loading the composition root.
 */
export function runtimeSockets(dataDir: string): { workload: string; management: string } {
  const dir = join(resolve(dataDir), 'sockets');
  return { workload: join(dir, 'workload', 'workload.sock'), management: join(dir, 'management.sock') };
}

/** The runtime's log file under the data directory (`log.fileMaxBytes`); `edgeport support-bundle` reads it. */
export function runtimeLogFile(dataDir: string): string {
  return join(resolve(dataDir), 'logs', 'edgeport.log');
}
