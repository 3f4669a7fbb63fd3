import { readFileSync } from 'node:fs';

/** The version in package.json (the CLI's `version` and the agent's reported version). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
