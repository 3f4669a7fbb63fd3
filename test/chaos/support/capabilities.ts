import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/**
 * Chaos scenarios need parts of the machine (a tmpfs mount, dockerd, PostgreSQL binaries). Like
 * `serviceAvailable`: absent and `EDGEPORT_REQUIRE_SERVICES` unset -> a skip reason; absent with it
 * set (CI) -> an error, so CI fails instead of skipping.
 */
export function requireCapability(name: string, present: boolean, how: string): false | string {
  if (present) return false;
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) throw new Error(`${name} is required (EDGEPORT_REQUIRE_SERVICES is set) but absent: ${how}`);
  return `${name} absent (${how}) and EDGEPORT_REQUIRE_SERVICES unset`;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Directory of PostgreSQL's server binaries (`initdb`, `pg_ctl`, `postgres`), newest version first. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(`${root}/${v}/bin/pg_ctl`)).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : `${root}/${versions[0]}/bin`;
}

export function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
