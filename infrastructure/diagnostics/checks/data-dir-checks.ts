import { existsSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CheckContext } from '../check-context.js';
import { type Check, failure, formatBytes, ok, warning } from '../check-model.js';

/** Below this much free space the store cannot take messages for long: an error. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;

/** The directory itself when it exists, else its nearest existing ancestor. */
function existingAncestor(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

function userText(): string {
  return process.getuid === undefined ? 'this user' : `uid ${process.getuid()}`;
}

/** Writes and removes a probe file: the only test that also catches read-only mounts for root. */
function writeProbe(dir: string): string | undefined {
  const probe = join(dir, `.edgeport-check-${process.pid}`);
  try {
    writeFileSync(probe, 'probe', { flag: 'wx', mode: 0o600 });
    unlinkSync(probe);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? `permission denied for ${userText()}` : code;
  }
}

export const dataDirWritableCheck: Check<CheckContext> = {
  id: 'data-dir-writable',
  description: 'data directory is writable',
  async run({ config }) {
    const dir = config.dataDir;
    const fix = `make ${dir} writable by the runtime's user, mount a writable volume there, or set dataDir (EDGEPORT_DATA_DIR) to a writable directory`;
    if (!existsSync(dir)) {
      const parent = existingAncestor(dir);
      const problem = writeProbe(parent);
      return problem === undefined ? ok(`${dir} does not exist yet; edgeport run creates it (${parent} is writable)`) : failure(`${dir} does not exist and cannot be created in ${parent}: ${problem}`, fix);
    }
    const problem = writeProbe(dir);
    return problem === undefined ? ok(`${dir} is writable`) : failure(`cannot write to ${dir}: ${problem}`, fix);
  },
};

export const diskSpaceCheck: Check<CheckContext> = {
  id: 'disk-space',
  description: 'free disk space for the store',
  async run(context) {
    const { config } = context;
    const dir = existingAncestor(config.dataDir);
    const stats = statfsSync(dir);
    const free = stats.bavail * stats.bsize;
    const limit = config.hub.storeAndForward.maxBytes;
    const inspection = await context.store();
    const used = inspection instanceof Error || inspection === undefined ? 0 : inspection.usedBytes;
    const where = `${formatBytes(free)} free on the file system of ${dir}`;
    if (free < MIN_FREE_BYTES) return failure(`only ${where}`, `free disk space there, or move dataDir to a larger file system`);
    if (limit === 0) return ok(`${where}; the store has no limit (hub.storeAndForward.maxBytes = 0)`);
    const remaining = Math.max(0, limit - used);
    if (free < remaining) {
      return warning(
        `${where}, less than the store may still take (${formatBytes(remaining)} more up to its ${formatBytes(limit)} limit): the disk would fill first`,
        `free disk space, or lower hub.storeAndForward.maxBytes below ${formatBytes(free)}`,
      );
    }
    return ok(`${where}; the store may take ${formatBytes(remaining)} more (limit ${formatBytes(limit)})`);
  },
};
