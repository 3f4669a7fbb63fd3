import { resolve } from 'node:path';
import { CliError, EXIT_USAGE } from '../cli/management-client.js';
import { type SetupFlags, SetupError, answersFromFlags, defaultRegistryCredentialsFile, flagProblems } from './setup-answers.js';
import { type Output, refuseToOverwrite, writeSetup } from './write-setup.js';

export interface SetupOptions extends SetupFlags {
  config?: string;
  nonInteractive?: boolean;
  force?: boolean;
}

export interface SetupIo {
  out: Output;
  /** Standard input: a terminal means prompts; `-` values of secret flags are read from it. */
  stdin: NodeJS.ReadStream;
  /** True when both stdin and stdout are terminals. */
  terminal: boolean;
  env: NodeJS.ProcessEnv;
}

async function readStdin(stdin: NodeJS.ReadStream): Promise<string> {
  let text = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) text += chunk as string;
  return text.trim();
}

/** `-` for a secret flag: read it from standard input (kept out of the process list and shell history). */
async function secretsFromStdin(options: SetupOptions, stdin: NodeJS.ReadStream): Promise<void> {
  const fromStdin = (['connectionString', 'storageUrl', 'registryPassword'] as const).filter((key) => options[key] === '-');
  if (fromStdin.length > 1) throw new CliError('only one of --connection-string, --storage-url and --registry-password can be "-" (read from standard input)', EXIT_USAGE);
  const key = fromStdin[0];
  if (key !== undefined) options[key] = await readStdin(stdin);
}

function usage(error: SetupError): CliError {
  return new CliError(`edgeport setup: nothing written:\n${error.problems.map((p) => `  ${p}`).join('\n')}`, EXIT_USAGE);
}

/**
 * `edgeport setup`: prompts in a terminal (flags given are taken as answers), or takes everything
 * from flags with `--non-interactive` (implied when standard input is not a terminal), then writes
 * the configuration file and, with registry credentials, their file (`writeSetup`).
 */
export async function runSetup(options: SetupOptions, io: SetupIo): Promise<void> {
  const configFile = resolve(options.config ?? io.env['EDGEPORT_CONFIG'] ?? 'edgeport.toml');
  const interactive = options.nonInteractive !== true && io.terminal;
  try {
    await secretsFromStdin(options, io.stdin);
    // Every problem with the flags at once, and an existing file refused, before any question.
    const registryFile = resolve(options.registryCredentialsFile ?? defaultRegistryCredentialsFile(configFile));
    let answers;
    if (!interactive) {
      answers = answersFromFlags(options, configFile);
      refuseToOverwrite(answers.registry !== undefined ? [configFile, registryFile] : [configFile], options.force === true);
    } else {
      const problems = flagProblems(options);
      if (problems.length > 0) throw new SetupError(problems);
      refuseToOverwrite(options.registry !== undefined ? [configFile, registryFile] : [configFile], options.force === true);
      io.out.write(`edgeport setup: writing ${configFile} (Ctrl-C cancels; nothing is written before the last answer)\n`);
      const { promptAnswers } = await import('./setup-prompts.js');
      try {
        answers = await promptAnswers(options, configFile);
      } catch (error) {
        if (error instanceof Error && error.name === 'ExitPromptError') throw new CliError('edgeport setup cancelled; nothing written');
        throw error;
      }
      // A registry added in the prompts must not overwrite a credentials file either.
      if (answers.registry !== undefined) refuseToOverwrite([answers.registryCredentialsFile], options.force === true);
    }
    writeSetup(answers, configFile, options.force === true, io.out);
  } catch (error) {
    if (error instanceof SetupError) throw usage(error);
    throw error;
  }
}
