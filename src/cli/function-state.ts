import type { Command } from 'commander';
import { NoSupervisorError } from '../common/errors.ts';
import { compilePlatformOptions } from '../common/config.ts';
import type { FunctionRecord } from '../store/port.ts';
import { globalOptions, platformOptions } from './context.ts';

/**
 * A function's state as the CLI prints it: a deployed function that does not run while no
 * supervisor runs the store's functions is waiting for one, and says so.
 */
export function stateText(f: FunctionRecord, supervisor: boolean): string {
  if (!f.deployed) return 'not deployed';
  if (f.status.state !== 'running' && !supervisor) return `${f.status.state}: waiting for a server (modelwatch up)`;
  return f.status.state;
}

/** The first line of a function's last error, cut to fit a table cell. */
export function lastErrorText(f: FunctionRecord, width = 100): string | undefined {
  const line = f.status.lastError?.split('\n').find((l) => l.trim() !== '');
  if (!line) return undefined;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/**
 * The CLI's words for "no supervisor runs the functions": where to start one (this home, or the
 * server named by --url), and the deploy command to run again.
 */
export function noServerError(cmd: Command, names: string[], project: string): NoSupervisorError {
  const g = globalOptions(cmd);
  const start = g.url
    ? `the server at ${g.url} runs no supervisor (started with --no-workers?): run \`modelwatch up\` on its store`
    : `none runs for ${compilePlatformOptions(platformOptions(g)).home}: start it (modelwatch up --home ${compilePlatformOptions(platformOptions(g)).home})`;
  return new NoSupervisorError(
    `deployed functions run under \`modelwatch up\`, and ${start}, then run: modelwatch functions deploy ${names.join(' ')} --project ${project}` +
      ' (--no-wait only marks them deployed, for `modelwatch worker` processes of your own)',
    { project, functions: names },
  );
}
