import type { Command } from 'commander';
import { globalOptions, platformOptions } from '../context.ts';
import { UsageError } from '../errors.ts';
import { cliLogger } from '../logger.ts';
import { ROLES, runWorker } from '../worker.ts';

/** `worker`: runs one deployed function in this process (what the supervisor starts; also for scale-out). */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run one deployed function until SIGTERM/SIGINT (the server starts these; run more on other machines to scale out)')
    .requiredOption('--project <name>', 'project')
    .option('--function <name>', 'the function to run')
    .option('--role <role>', `an infrastructure role instead of --function: ${Object.keys(ROLES).join('|')}`)
    .action(async (o: { project: string; function?: string; role?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (g.url) throw new UsageError('worker opens the store itself; give --home or --store-url, not --url');
      process.exitCode = await runWorker({
        project: o.project,
        ...(o.function ? { function: o.function } : {}),
        ...(o.role ? { role: o.role } : {}),
        platform: platformOptions(g),
        logger: cliLogger('info'),
      });
    });
}
