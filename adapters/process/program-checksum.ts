import { createHash } from 'node:crypto';
import { createReadStream, statSync, type Stats } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { ModulePreparationError } from '../../domain/modules/module-preparation.js';
import type { ProcessModuleSettings } from '../../domain/modules/module-spec.js';

/** The file `command` runs: a path (relative to `cwd`), else the first executable match on `PATH`. */
export function resolveProgram(command: string, cwd: string | undefined, path: string | undefined): string {
  const base = cwd ?? process.cwd();
  if (command.includes('/') || command.includes('\\')) return isAbsolute(command) ? command : resolve(base, command);
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = resolve(base, join(dir, command));
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return resolve(base, command);
}

/** File -> expected SHA-256 (hex) of a module's `settings.sha256`: a string is the program's. */
export function expectedChecksums(settings: ProcessModuleSettings, path: string | undefined): Array<{ file: string; sha256: string }> {
  const sha256 = settings.sha256;
  if (sha256 === undefined) return [];
  if (typeof sha256 === 'string') return [{ file: resolveProgram(settings.command, settings.cwd, path), sha256 }];
  const base = settings.cwd ?? process.cwd();
  return Object.entries(sha256).map(([file, hash]) => ({ file: isAbsolute(file) ? file : resolve(base, file), sha256: hash }));
}

/** What identifies a file's content cheaply: any write changes ctime, which user space cannot set back. */
function fingerprint(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/**
 * Checks process modules' programs against `settings.sha256` before they start: the command's
 * file (string form), or each listed file (`{"worker.js": "<sha256>"}`, relative to `cwd`), so
 * a script run by an interpreter can be pinned too. Hashes are cached per file by inode, size,
 * mtime and ctime, so a restart does not re-read an unchanged program.
 */
export class ProgramChecksums {
  private readonly cache = new Map<string, { fingerprint: string; sha256: string }>();

  async check(module: string, settings: ProcessModuleSettings, path: string | undefined): Promise<void> {
    for (const { file, sha256 } of expectedChecksums(settings, path)) {
      let actual: string;
      try {
        actual = await this.hash(file);
      } catch (error) {
        throw new ModulePreparationError(module, 'checksum', 'program not found', `cannot check ${file} of module "${module}" against settings.sha256: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; not started`);
      }
      if (actual !== sha256) {
        throw new ModulePreparationError(module, 'checksum', 'program checksum mismatch', `${file} of module "${module}" has SHA-256 ${actual}, not ${sha256} as settings.sha256 requires; not started`);
      }
    }
  }

  private async hash(file: string): Promise<string> {
    const key = fingerprint(statSync(file));
    const cached = this.cache.get(file);
    if (cached?.fingerprint === key) return cached.sha256;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    // Stat again: a file changed while it was read must not be cached under the old fingerprint.
    if (fingerprint(statSync(file)) === key) this.cache.set(file, { fingerprint: key, sha256 });
    return sha256;
  }
}
