#!/usr/bin/env node
/**
 * The container image's entrypoint, PID 1 (Dockerfile `ENTRYPOINT`). Any command runs the CLI as
 * given (`docker run edgeport check`); `run` (the default) first reads the configuration as root,
 * then, when `planPrivileges` allows it, hands the data directories to the `edgeport` user and
 * drops to it (with the Docker socket's group) in this same process, so the runtime stays PID 1
 * and gets `docker stop`'s SIGTERM itself (it handles SIGINT and SIGTERM; Node as PID 1 has no
 * default handlers, which is why no other process may sit in between).
 */
import { lchownSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EdgeportConfig } from '../config/load-config.js';
import { createProgram } from '../cli/program.js';
import { CONTAINER_USER, planPrivileges, type FileAccess } from './run-as-user.js';

function passwdUser(name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no /etc/passwd: no user to drop to
  }
  return undefined;
}

function fileAccess(path: string, what: string): FileAccess | undefined {
  if (path === '') return undefined;
  try {
    const stat = statSync(path);
    return { path, what, uid: stat.uid, gid: stat.gid, mode: stat.mode };
  } catch {
    return undefined; // missing: the runtime reports it itself
  }
}

/** Gives `path` and everything below it to `uid:gid` (skipped when the top already belongs to them). */
function chownTree(path: string, uid: number, gid: number): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (stat.uid === uid && stat.gid === gid) return;
  const walk = (current: string): void => {
    const entry = lstatSync(current);
    if (entry.isDirectory()) for (const child of readdirSync(current)) walk(join(current, child));
    lchownSync(current, uid, gid);
  };
  walk(path);
}

function log(config: EdgeportConfig, level: 'info' | 'warn', msg: string): void {
  if (config.log.level === 'silent' || config.log.level === 'error' || config.log.level === 'fatal') return;
  if (level === 'info' && config.log.level === 'warn') return;
  process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), name: 'edgeport', component: 'container', msg })}\n`);
}

async function dropPrivileges(config: EdgeportConfig): Promise<void> {
  const usesDocker = config.agent.enabled && config.agent.runtime !== 'process';
  let dockerSocket;
  if (usesDocker) {
    try {
      const stat = statSync(config.agent.dockerSocket);
      dockerSocket = { path: config.agent.dockerSocket, gid: stat.gid };
    } catch {
      dockerSocket = undefined;
    }
  }
  const files = [
    fileAccess(config.source.file ?? '', 'configuration file'),
    fileAccess(config.agent.registryCredentialsFile, 'registry credentials file'),
    fileAccess(config.upstream.caFile, 'upstream CA file'),
    fileAccess(config.upstream.trustBundleFile, 'upstream trust bundle (parent edge CA)'),
  ].filter((f): f is FileAccess => f !== undefined);
  const plan = planPrivileges(config, { uid: process.getuid?.() ?? 0, user: passwdUser(CONTAINER_USER.name), dockerSocket, files });
  if (!plan.drop) {
    log(config, 'info', plan.reason);
    return;
  }
  try {
    const dirs = [config.dataDir, config.certs.dir, ...(config.storage.kind === 'sqlite' ? [dirname(config.storage.path)] : [])];
    for (const dir of new Set(dirs)) chownTree(dir, plan.uid, plan.gid);
    // POSIX only, as is this image; the types mark them optional for Windows.
    process.setgroups!(plan.groups);
    process.setgid!(plan.gid);
    process.setuid!(plan.uid);
  } catch (error) {
    log(config, 'warn', `staying root: cannot hand the data directory to ${CONTAINER_USER.name}: ${(error as Error).message}`);
    return;
  }
  process.env['HOME'] = config.dataDir;
  log(config, 'info', plan.reason);
}

createProgram({ beforeRun: dropPrivileges })
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`edgeport: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
