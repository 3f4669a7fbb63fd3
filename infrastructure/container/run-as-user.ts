import { configuredListeners } from '../config/listeners.js';
import type { EdgeportConfig } from '../config/load-config.js';

/** The unprivileged user of the container image (Dockerfile). */
export const CONTAINER_USER = { name: 'edgeport', uid: 10001, gid: 10001 } as const;

/** Owner and mode of a file the runtime must read after dropping root. */
export interface FileAccess {
  path: string;
  /** What the file is, for the reason (`configuration file`). */
  what: string;
  uid: number;
  gid: number;
  mode: number;
}

export interface PrivilegeFacts {
  /** The process's uid now. */
  uid: number;
  /** The target user as /etc/passwd knows it; undefined when the image has none. */
  user: { uid: number; gid: number } | undefined;
  /** The Docker socket's group when the agent uses Docker and the socket exists. */
  dockerSocket: { path: string; gid: number } | undefined;
  /** Files the runtime reads at start outside its data directory. */
  files: readonly FileAccess[];
}

export type PrivilegePlan =
  | { drop: true; uid: number; gid: number; groups: number[]; reason: string }
  | { drop: false; reason: string };

/** Can `uid` with primary `gid` and `groups` read the file? (mode bits; root was handled before). */
function readable(file: FileAccess, uid: number, groups: readonly number[]): boolean {
  if (file.uid === uid) return (file.mode & 0o400) !== 0;
  if (groups.includes(file.gid)) return (file.mode & 0o040) !== 0;
  return (file.mode & 0o004) !== 0;
}

/**
 * Whether `edgeport run` in the container can run as the unprivileged user, and with which
 * supplementary groups. It stays root, saying why, when any of these holds:
 *
 * - a listener port is below 1024 (binding it needs root: Node cannot keep a capability across
 *   setuid);
 * - the Docker socket's group is root (gid 0): the user would need root's group, which is no
 *   privilege drop at all;
 * - a file the runtime reads at start (configuration, registry credentials, upstream CA) is not
 *   readable by the user (a root-owned 0600 file mounted from the host).
 *
 * Otherwise it drops to `edgeport` with the socket's group added, so it can use Docker.
 */
export function planPrivileges(config: Pick<EdgeportConfig, 'hub' | 'metrics'>, facts: PrivilegeFacts): PrivilegePlan {
  if (facts.uid !== 0) return { drop: false, reason: `already running as uid ${facts.uid}` };
  if (facts.user === undefined) return { drop: false, reason: `no user ${CONTAINER_USER.name} in /etc/passwd` };
  const privileged = configuredListeners(config).filter((l) => l.port < 1024);
  if (privileged.length > 0) {
    const list = privileged.map((l) => `${l.setting} = ${l.port}`).join(', ');
    return { drop: false, reason: `running as root: ${list} is below 1024; set ports of 1024 and above to run as ${CONTAINER_USER.name}` };
  }
  const groups = [facts.user.gid];
  if (facts.dockerSocket !== undefined) {
    if (facts.dockerSocket.gid === 0) {
      return { drop: false, reason: `running as root: the Docker socket ${facts.dockerSocket.path} belongs to group root; give it a group of its own (e.g. docker) to run as ${CONTAINER_USER.name}` };
    }
    groups.push(facts.dockerSocket.gid);
  }
  for (const file of facts.files) {
    if (!readable(file, facts.user.uid, groups)) {
      return { drop: false, reason: `running as root: the ${file.what} ${file.path} is not readable by ${CONTAINER_USER.name} (uid ${facts.user.uid}); chown it to ${facts.user.uid} on the host to run as ${CONTAINER_USER.name}` };
    }
  }
  const socket = facts.dockerSocket === undefined ? '' : ` with the Docker socket's group ${facts.dockerSocket.gid}`;
  return { drop: true, uid: facts.user.uid, gid: facts.user.gid, groups: [...new Set(groups)], reason: `running as ${CONTAINER_USER.name} (uid ${facts.user.uid})${socket}` };
}
