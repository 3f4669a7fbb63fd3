import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { RegistryCredential } from '../../domain/modules/module-spec.js';

/**
 * The device's registry credentials file (`agent.registryCredentialsFile`): JSON shaped like a
 * manifest's `runtime.settings.registryCredentials`, so an entry can be copied either way:
 *
 * ```json
 * { "myacr": { "address": "myacr.azurecr.io", "username": "myacr", "password": "..." } }
 * ```
 *
 * It holds passwords: written with mode 0600, and `edgeport check` warns when group or others can
 * read it. Nothing here ever prints a password.
 */
export class RegistryCredentialsFileError extends Error {
  readonly code = 'EDGEPORT_REGISTRY_CREDENTIALS_INVALID';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`registry credentials file ${path}: ${message}`);
    this.name = 'RegistryCredentialsFileError';
  }
}

export type NamedRegistryCredentials = Record<string, RegistryCredential>;

/** Validates the parsed JSON; every problem at once, never quoting a value. */
export function parseRegistryCredentials(path: string, document: unknown): NamedRegistryCredentials {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new RegistryCredentialsFileError(path, 'expected a JSON object {"<name>": {"address": ..., "username": ..., "password": ...}}');
  }
  const problems: string[] = [];
  const credentials: NamedRegistryCredentials = {};
  for (const [name, entry] of Object.entries(document as Record<string, unknown>)) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      problems.push(`${name}: expected an object with address, username and password`);
      continue;
    }
    const fields = entry as Record<string, unknown>;
    const missing = ['address', 'username', 'password'].filter((key) => typeof fields[key] !== 'string' || (fields[key] as string).trim() === '');
    const unknown = Object.keys(fields).filter((key) => !['address', 'username', 'password'].includes(key));
    if (missing.length > 0) problems.push(`${name}: expected non-empty strings for ${missing.join(', ')}`);
    if (unknown.length > 0) problems.push(`${name}: unknown key${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} (expected address, username, password)`);
    if (missing.length === 0 && unknown.length === 0) {
      credentials[name] = { address: (fields['address'] as string).trim(), username: fields['username'] as string, password: fields['password'] as string };
    }
  }
  if (problems.length > 0) throw new RegistryCredentialsFileError(path, problems.join('; '));
  return credentials;
}

/** Reads and validates the file; `[]` for an empty path (no file configured). */
export function readRegistryCredentialsFile(path: string): RegistryCredential[] {
  if (path === '') return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RegistryCredentialsFileError(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}); fix agent.registryCredentialsFile or create the file (edgeport setup)`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    // The parser's message may quote the text around the error: the password could be in it.
    throw new RegistryCredentialsFileError(path, `not valid JSON${error instanceof SyntaxError && /position \d+/.test(error.message) ? ` (at ${/position \d+/.exec(error.message)?.[0]})` : ''}`);
  }
  return Object.values(parseRegistryCredentials(path, document));
}

/** True when group or others may read the file (it should be 0600). */
export function readableByOthers(path: string): boolean {
  return (statSync(path).mode & 0o077) !== 0;
}

/** Writes the file atomically with mode 0600 (a temporary file renamed over it). */
export function writeRegistryCredentialsFile(path: string, credentials: NamedRegistryCredentials): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  // The umask cannot widen 0600, but an existing file's mode is kept by rename's target: set it.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
