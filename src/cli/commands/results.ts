import type { Command } from 'commander';
import { ResultKind, ResultStatus } from '../../common/types.ts';
import type { SeriesQuery } from '../../store/tsdb-port.ts';
import { withProject } from '../context.ts';
import { printJson, printTable, time } from '../output.ts';
import { timeArg, wholeNumber } from '../parse.ts';

interface SeriesFlags {
  endpoint?: string;
  app?: string;
  name?: string;
  start?: number;
  end?: number;
  limit?: number;
  latest?: boolean;
  json?: boolean;
}

/** `results`, `metrics` and `events`: what the monitoring apps and the writer produced. */
export function registerResultCommands(program: Command): void {
  const seriesOptions = (c: Command): Command =>
    c
      .requiredOption('--project <name>', 'project')
      .option('--endpoint <id>', 'one model endpoint')
      .option('--app <name>', 'one monitoring app')
      .option('--name <name>', 'one result or metric name')
      .option('--start <time>', 'windows starting at or after (ISO-8601 or epoch ms)', timeArg)
      .option('--end <time>', 'windows starting before (ISO-8601 or epoch ms)', timeArg)
      .option('--limit <n>', 'at most this many rows', wholeNumber)
      .option('--json', 'print JSON');

  seriesOptions(program.command('results').description('application results per window (history; --latest for the latest per name)'))
    .option('--latest', 'only the latest result per endpoint, app and name')
    .action(async (o: SeriesFlags, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const rows = o.latest
          ? await project.latestResults({ ...(o.endpoint ? { endpointId: o.endpoint } : {}), ...(o.app ? { app: o.app } : {}) })
          : await project.listResults(query(o));
        if (o.json) return printJson(rows);
        printTable(rows, [
          { header: 'window start', get: (r) => time(r.windowStart) },
          { header: 'window end', get: (r) => time(r.windowEnd) },
          { header: 'endpoint', get: (r) => r.endpointId.slice(0, 12) },
          { header: 'app', get: (r) => r.app },
          { header: 'name', get: (r) => r.name },
          { header: 'kind', get: (r) => nameOf(ResultKind, r.kind) },
          { header: 'status', get: (r) => nameOf(ResultStatus, r.status) },
          { header: 'value', get: (r) => r.value },
        ], '(no results)');
      });
    });

  seriesOptions(program.command('metrics').description('application metrics per window')).action(async (o: SeriesFlags, cmd: Command) => {
    await withProject(cmd, async (project) => {
      const rows = await project.listMetrics(query(o));
      if (o.json) return printJson(rows);
      printTable(rows, [
        { header: 'window start', get: (r) => time(r.windowStart) },
        { header: 'window end', get: (r) => time(r.windowEnd) },
        { header: 'endpoint', get: (r) => r.endpointId.slice(0, 12) },
        { header: 'app', get: (r) => r.app },
        { header: 'name', get: (r) => r.name },
        { header: 'value', get: (r) => r.value },
      ], '(no metrics)');
    });
  });

  program
    .command('events')
    .description('monitoring events raised by the writer (drift detected, app failed, ...)')
    .requiredOption('--project <name>', 'project')
    .option('--endpoint <id>', 'one model endpoint')
    .option('--kind <kind>', 'one event kind, e.g. data-drift-detected')
    .option('--since <time>', 'events at or after (ISO-8601 or epoch ms)', timeArg)
    .option('--limit <n>', 'at most this many', wholeNumber)
    .option('--json', 'print JSON')
    .action(async (o: { endpoint?: string; kind?: string; since?: number; limit?: number; json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const events = await project.listEvents({
          ...(o.endpoint ? { endpointId: o.endpoint } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(o.since !== undefined ? { since: o.since } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
        });
        if (o.json) return printJson(events);
        printTable(events, [
          { header: 'time', get: (e) => time(e.time) },
          { header: 'kind', get: (e) => e.kind },
          { header: 'endpoint', get: (e) => e.endpointId.slice(0, 12) },
          { header: 'app', get: (e) => e.app },
          { header: 'result', get: (e) => e.resultName },
          { header: 'value', get: (e) => e.value },
          { header: 'message', get: (e) => e.message },
        ], '(no events)');
      });
    });
}

function query(o: SeriesFlags): SeriesQuery {
  const q: SeriesQuery = {};
  if (o.endpoint) q.endpointId = o.endpoint;
  if (o.app) q.app = o.app;
  if (o.name) q.name = o.name;
  if (o.start !== undefined) q.start = o.start;
  if (o.end !== undefined) q.end = o.end;
  if (o.limit !== undefined) q.limit = o.limit;
  return q;
}

function nameOf(table: Record<string, number>, v: number): string {
  return Object.entries(table).find(([, x]) => x === v)?.[0] ?? String(v);
}
