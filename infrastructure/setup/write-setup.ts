import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, formatProblem, loadConfig } from '../config/load-config.js';
import { writeRegistryCredentialsFile } from '../config/registry-credentials-file.js';
import { redactSecrets } from '../logging/redact-secrets.js';
import { packageVersion } from '../package-info.js';
import { type SetupAnswers, SetupError, holdsSecret, renderConfig } from './setup-answers.js';

export type Output = { write(text: string): unknown };

/** Refuses, before any question is asked, to overwrite what exists unless `force`. */
export function refuseToOverwrite(paths: readonly string[], force: boolean): void {
  if (force) return;
  const existing = paths.filter((path) => existsSync(path));
  if (existing.length > 0) throw new SetupError(existing.map((path) => `${path} exists; pass --force to overwrite it`));
}

const mode = (n: number): string => `0${n.toString(8)}`;

/**
 * Writes the configuration (and the registry credentials file when there are credentials),
 * printing each step. The configuration is validated as `edgeport config check` would (file only,
 * no `EDGEPORT_*` variables) before anything replaces an existing file; it is written with mode
 * 0600 when it holds a secret, else 0644; the credentials file always 0600. What was written is
 * shown with every secret masked.
 */
export function writeSetup(answers: SetupAnswers, configFile: string, force: boolean, out: Output, now = new Date()): void {
  refuseToOverwrite(answers.registry !== undefined ? [configFile, answers.registryCredentialsFile] : [configFile], force);
  const text = renderConfig(answers, now, packageVersion());
  const configMode = holdsSecret(answers) ? 0o600 : 0o644;
  mkdirSync(dirname(configFile), { recursive: true });
  const temporary = `${configFile}.${process.pid}.tmp`;
  out.write(`checking the configuration ... `);
  writeFileSync(temporary, text, { mode: configMode });
  try {
    loadConfig({ file: temporary, env: {} });
  } catch (error) {
    rmSync(temporary, { force: true });
    if (error instanceof ConfigError) throw new SetupError(error.problems.map(formatProblem));
    throw error;
  }
  out.write('ok\n');
  if (answers.registry !== undefined) {
    out.write(`writing ${answers.registryCredentialsFile} (mode 0600) ... `);
    mkdirSync(dirname(answers.registryCredentialsFile), { recursive: true });
    const { address, username, password } = answers.registry;
    writeRegistryCredentialsFile(answers.registryCredentialsFile, { [address.split(/[./:]/)[0] || 'registry']: { address, username, password } });
    out.write(`done: registry ${address}, user ${username}, password hidden\n`);
  }
  out.write(`writing ${configFile} (mode ${mode(configMode)}) ... `);
  chmodSync(temporary, configMode);
  renameSync(temporary, configFile);
  out.write('done\n\n');
  out.write(`${configFile}${configMode === 0o600 ? ' (secrets masked here)' : ''}:\n`);
  out.write(redactSecrets(text).replace(/^(?=.)/gm, '  '));
  out.write(`\nnext: edgeport check -c ${configFile}\n      edgeport run -c ${configFile}\n`);
}
