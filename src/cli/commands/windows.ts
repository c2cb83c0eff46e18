import type { Command } from 'commander';
import { withProject } from '../context.ts';
import { UsageError } from '../errors.ts';
import { printJson, printTable, time } from '../output.ts';
import { timeArg, wholeNumber } from '../parse.ts';

/** `windows late|reanalyze`: windows that got predictions after they were analyzed, and analyzing them again. */
export function registerWindowCommands(program: Command): void {
  const windows = program.command('windows').description('analysis windows: late predictions, and analyzing a window again');

  windows
    .command('late')
    .description('windows that got predictions after they were analyzed (later than the stream processor\'s watermark), newest first')
    .requiredOption('--project <name>', 'project')
    .option('--endpoint <id>', 'only this model endpoint')
    .option('--pending', 'only windows with late predictions no analysis has taken in yet')
    .option('--limit <n>', 'at most this many', wholeNumber)
    .option('--json', 'print JSON')
    .action(async (o: { endpoint?: string; pending?: boolean; limit?: number; json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const rows = await project.listLateWindows({
          ...(o.endpoint !== undefined ? { endpointId: o.endpoint } : {}),
          ...(o.pending ? { pending: true } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
        });
        if (o.json) return printJson(rows);
        printTable(rows, [
          { header: 'endpoint', get: (w) => w.endpointId.slice(0, 12) },
          { header: 'window start', get: (w) => time(w.windowStart) },
          { header: 'window end', get: (w) => time(w.windowEnd) },
          { header: 'late', get: (w) => w.latePredictions },
          { header: 'not analyzed', get: (w) => w.pendingPredictions },
          { header: 'last late', get: (w) => time(w.lastLateAt) },
          { header: 'reanalyzed', get: (w) => time(w.reanalyzedAt) },
        ], '(no late predictions)');
      });
    });

  windows
    .command('reanalyze')
    .description('hand windows that were analyzed to their apps again (their results are replaced): every window with late predictions not analyzed yet (--late), or one window (--endpoint and --start)')
    .requiredOption('--project <name>', 'project')
    .option('--late', 'every window with late predictions no analysis has taken in yet (of --endpoint only, when given)')
    .option('--endpoint <id>', 'model endpoint')
    .option('--start <time>', 'start of the window (ISO-8601 or epoch ms, on the base-period grid)', timeArg)
    .option('--app <name>', 'only this monitoring app (default: every deployed one that analyzed the window)')
    .option('--json', 'print JSON')
    .action(async (o: { late?: boolean; endpoint?: string; start?: number; app?: string; json?: boolean }, cmd: Command) => {
      if (!o.late && (o.endpoint === undefined || o.start === undefined)) throw new UsageError('give --late, or --endpoint and --start for one window');
      if (o.late && o.start !== undefined) throw new UsageError('--late and --start do not go together');
      await withProject(cmd, async (project) => {
        const handed = await project.reanalyzeWindows({
          ...(o.late ? { late: true } : {}),
          ...(o.endpoint !== undefined ? { endpointId: o.endpoint } : {}),
          ...(o.start !== undefined ? { windowStart: o.start } : {}),
          ...(o.app !== undefined ? { app: o.app } : {}),
        });
        if (o.json) return printJson(handed);
        printTable(handed, [
          { header: 'endpoint', get: (w) => w.endpointId.slice(0, 12) },
          { header: 'app', get: (w) => w.app },
          { header: 'window start', get: (w) => time(w.windowStart) },
          { header: 'window end', get: (w) => time(w.windowEnd) },
        ], '(nothing to reanalyze)');
      });
    });
}
