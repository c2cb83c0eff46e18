#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { errorMessage, ModelwatchError } from '../common/errors.ts';
import { registerCommands } from './commands/index.ts';
import { UsageError } from './errors.ts';

const VERSION = ((): string => {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** The `modelwatch` program with every command; errors are thrown, never exit the process. */
export function buildProgram(): Command {
  const program = new Command('modelwatch')
    .description('model monitoring for machine-learning models served from Node.js')
    .version(VERSION)
    .option('--home <dir>', 'home folder (env MODELWATCH_HOME, default ./.modelwatch)')
    .option('--url <url>', 'talk to a running server instead of opening the home (env MODELWATCH_URL)')
    .option('--token-file <file>', 'file holding the API token sent with --url (env MODELWATCH_TOKEN); never the token itself on the command line')
    // Refused below: a token on the command line shows in `ps` and in shell history.
    .addOption(new Option('--token <token>').hideHelp())
    .option('--store-url <url>', 'store connection URL (env MODELWATCH_STORE_URL)')
    .option('--tsdb-url <url>', 'time-series connection URL (env MODELWATCH_TSDB_URL)')
    .option('--stream-url <url>', 'stream URL (env MODELWATCH_STREAM_URL)')
    .showHelpAfterError('(add --help for usage)')
    // Set before the commands are added so that every subcommand inherits it.
    .exitOverride()
    .hook('preAction', (_program, action) => {
      if (action.optsWithGlobals().token !== undefined) {
        throw new UsageError('--token would show the token in `ps` and in shell history: put it in MODELWATCH_TOKEN, or in a file (mode 0600) given with --token-file');
      }
    });
  registerCommands(program);
  return program;
}

/**
 * Runs the CLI and resolves with the exit code: 0 on success, 1 when a command failed
 * (`error: <message>` on stderr), 2 for usage errors.
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message already.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // Help shown because a command group was given without a command: 1, as commander says.
      if (err.code === 'commander.help') return err.exitCode;
      return 2;
    }
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    if (err instanceof UsageError) return 2;
    if (!(err instanceof ModelwatchError) && process.env.MODELWATCH_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return 1;
  }
}

/**
 * Runs {@link main} as the process: sets the exit code, and exits shortly after if a
 * leftover handle (an idle keep-alive socket, an IPC channel) would keep it alive.
 */
export async function runCli(argv: string[] = process.argv): Promise<void> {
  const code = await main(argv);
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// The program: `modelwatch` (package.json `bin`, compiled), the supervisor's worker processes, and
// `node --import tsx src/cli/main.ts ...` from the sources.
if (isEntryPoint()) await runCli();
