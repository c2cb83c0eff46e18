import { InvalidArgumentError, type Command } from 'commander';
import { globalOptions, platformOptions } from '../context.ts';
import { UsageError } from '../errors.ts';
import { collect, wholeNumber } from '../parse.ts';
import { shutdownDeadlineMs, shutdownSeconds } from '../parse.ts';
import { ROLES } from '../roles.ts';
import { CODE_ROOT_HELP } from './up.ts';

/**
 * `worker`: runs one deployed function, or one role, in this process (what the supervisor
 * starts; also for scale-out: run several on other machines against the same store and stream).
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run one deployed function (or role) until SIGTERM/SIGINT against the shared store and stream; the server starts these, and more ' +
        'can run on other machines: stream processors, writers and apps share their topics as consumer groups, controllers elect one leader',
    )
    .requiredOption('--project <name>', 'project')
    .option('--function <name>', 'the function to run')
    .option(
      '--role <role>',
      `a role instead of --function: ${Object.keys(ROLES).join('|')} (apps: every deployed monitoring application, picked up as they are deployed)`,
    )
    .option(
      '--lease-seconds <s>',
      'controller: how long the leadership lease lasts, i.e. how soon another controller takes over from a crashed leader (default 60; env MODELWATCH_CONTROLLER_LEASE_SECONDS)',
      positiveSeconds,
    )
    .option('--refresh-seconds <s>', 'apps: how often the deployed applications are listed again (default 10)', positiveSeconds)
    .option(
      '--shutdown-timeout-seconds <s>',
      'serving: on SIGTERM/SIGINT, how long to finish the requests in flight and flush tracking before exiting (default 10; env MODELWATCH_SHUTDOWN_TIMEOUT_SECONDS)',
      shutdownSeconds,
    )
    .option(
      '--port <port>',
      'serving: the port to listen on where the spec names none (the server passes the one the function had, so that a restarted worker keeps its address); a port that stays in use gives way to a free one',
      wholeNumber,
    )
    .option('--code-root <dir>', CODE_ROOT_HELP, collect, [])
    .action(async (o: { project: string; function?: string; role?: string; leaseSeconds?: number; refreshSeconds?: number; shutdownTimeoutSeconds?: number; port?: number; codeRoot: string[] }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (g.url) throw new UsageError('worker opens the store itself; give --home or --store-url, not --url');
      const envLease = process.env.MODELWATCH_CONTROLLER_LEASE_SECONDS;
      const leaseSeconds = o.leaseSeconds ?? (envLease ? leaseFromEnv(envLease) : undefined);
      const controller = o.role === 'controller' || o.function === ROLES.controller;
      if (o.leaseSeconds !== undefined && !controller) throw new UsageError('--lease-seconds applies to the controller only');
      if (o.refreshSeconds !== undefined && o.role !== 'apps') throw new UsageError('--refresh-seconds applies to --role apps only');
      const shutdownMs = shutdownDeadlineMs(o.shutdownTimeoutSeconds);
      const [{ runWorker }, { cliLogger }] = await Promise.all([import('../worker.ts'), import('../logger.ts')]);
      process.exitCode = await runWorker({
        project: o.project,
        ...(o.function ? { function: o.function } : {}),
        ...(o.role ? { role: o.role } : {}),
        ...(leaseSeconds !== undefined && controller ? { leaseTtlMs: Math.round(leaseSeconds * 1000) } : {}),
        ...(o.refreshSeconds !== undefined ? { appsRefreshMs: Math.round(o.refreshSeconds * 1000) } : {}),
        ...(shutdownMs !== undefined ? { shutdownDeadlineMs: shutdownMs } : {}),
        ...(o.port !== undefined ? { servingPort: o.port } : {}),
        platform: { ...platformOptions(g), codeRoots: o.codeRoot.length ? o.codeRoot : [process.cwd()] },
        logger: cliLogger('info'),
      });
    });
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.001) throw new InvalidArgumentError('must be a number of seconds > 0');
  return n;
}

function leaseFromEnv(value: string): number {
  try {
    return positiveSeconds(value);
  } catch {
    throw new UsageError(`MODELWATCH_CONTROLLER_LEASE_SECONDS must be a number of seconds > 0, got '${value}'`);
  }
}
