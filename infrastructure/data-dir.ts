import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PRIVATE_DIR_MODE, ensurePrivateFile, tightenMode, type ModeWarning } from '../adapters/secrets/private-paths.js';
import type { EdgeportConfig } from './config/load-config.js';

/** `dataDir` (or the SQLite file's directory) cannot be used; the message names the setting and the reason. */
export class DataDirError extends Error {
  readonly code = 'EDGEPORT_DATA_DIR_UNUSABLE';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
    this.name = 'DataDirError';
  }
}

const REASONS: Record<string, string> = {
  ENOTDIR: 'a file is in the way (a part of the path is a regular file, not a directory)',
  EEXIST: 'it exists and is not a directory',
  EACCES: 'permission denied for this user',
  EPERM: 'operation not permitted for this user',
  EROFS: 'it is on a read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ELOOP: 'too many symbolic links in the path',
  ENAMETOOLONG: 'the path is too long',
};

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined ? String(error) : `${REASONS[code] ?? 'the system refused it'} (${code})`;
}

/** `dataDir` as the user set it: the key, its environment variable, and where this value came from. */
function settingText(config: EdgeportConfig, key: string, env: string): string {
  const from = config.source.env.includes(env) ? `set by ${env}` : config.source.file !== null ? `from ${config.source.file} or the default` : 'the default';
  return `${key} (${from})`;
}

async function usableDirectory(dir: string, describe: string, key: string, env: string): Promise<void> {
  const fail = (why: string): never => {
    throw new DataDirError(key, `${describe} = "${dir}" cannot be used: ${why}; set ${key} in the configuration file or ${env} to a writable directory`);
  };
  try {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (error) {
    fail(`cannot create it: ${reason(error)}`);
  }
  try {
    if (!(await stat(dir)).isDirectory()) fail('it is a file, not a directory');
  } catch (error) {
    if (error instanceof DataDirError) throw error;
    fail(reason(error));
  }
  // Root passes permission checks, so only writing tells (read-only mounts, full disks).
  const probe = join(dir, `.edgeport-write-check-${process.pid}`);
  try {
    await writeFile(probe, '', { mode: 0o600 });
  } catch (error) {
    fail(`cannot write in it: ${reason(error)}`);
  } finally {
    await rm(probe, { force: true });
  }
}

/**
 * Run before anything opens the database or writes under `dataDir` (`edgeport run`, `identity`,
 * `cert ca-path`): creates `dataDir` mode 0700 and checks it can be written, failing with a
 * `DataDirError` that names the setting (`dataDir` / `EDGEPORT_DATA_DIR`, or `storage.path`) and
 * the reason; narrows a wider mode of `dataDir` (and of `<dataDir>/secrets`, the master key's default home) with one warning; creates the SQLite file 0600
 * before SQLite does (its `-wal`/`-shm` files inherit that mode) and narrows existing ones.
 */
export async function prepareDataDir(config: EdgeportConfig, warn: ModeWarning): Promise<void> {
  await usableDirectory(config.dataDir, settingText(config, 'dataDir', 'EDGEPORT_DATA_DIR'), 'dataDir', 'EDGEPORT_DATA_DIR');
  await tightenMode(config.dataDir, PRIVATE_DIR_MODE, warn);
  // The default home of the master key (secrets.keyFile); a key file elsewhere keeps its directory's mode.
  await tightenMode(join(config.dataDir, 'secrets'), PRIVATE_DIR_MODE, warn);
  if (config.storage.kind !== 'sqlite') return;
  const database = config.storage.path;
  await usableDirectory(dirname(database), `the directory of ${settingText(config, 'storage.path', 'EDGEPORT_STORAGE_PATH')}`, 'storage.path', 'EDGEPORT_STORAGE_PATH');
  try {
    await ensurePrivateFile(database, warn);
  } catch (error) {
    throw new DataDirError('storage.path', `storage.path = "${database}" cannot be used: ${reason(error)}; set storage.path in the configuration file or EDGEPORT_STORAGE_PATH`);
  }
  for (const suffix of ['-wal', '-shm', '-journal']) await tightenMode(`${database}${suffix}`, 0o600, warn);
}
