import type { Command } from 'commander';
import type { EndpointRecord } from '../../common/types.ts';
import { withProject } from '../context.ts';
import { UsageError } from '../errors.ts';
import { printFields, printJson, printTable, time } from '../output.ts';

/** `endpoints list|get`: the project's model endpoints with drift status and live metrics. */
export function registerEndpointCommands(program: Command): void {
  const endpoints = program.command('endpoints').description('model endpoints, their drift status and live metrics');

  endpoints
    .command('list')
    .description('list model endpoints')
    .requiredOption('--project <name>', 'project')
    .option('--json', 'print JSON (feature stats without their histograms and categories unless --full)')
    .option('--full', 'with --json: keep the reference and window histograms (`endpoints get` always has them)')
    .action(async (o: { json?: boolean; full?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const eps = await project.listModelEndpoints({ full: o.full ?? false });
        if (o.json) return printJson(eps);
        printTable(eps, [
          { header: 'id', get: (e) => e.id.slice(0, 12) },
          { header: 'name', get: (e) => e.name },
          { header: 'function', get: (e) => e.function },
          { header: 'version', get: (e) => e.modelVersion },
          { header: 'first request', get: (e) => time(e.firstRequest) },
          { header: 'last request', get: (e) => time(e.lastRequest) },
          { header: 'avg latency 1h (ms)', get: (e) => latencyMs(e.metrics?.latencyAvg1hUs) },
          { header: 'errors', get: (e) => e.errorCount },
          { header: 'drift', get: (e) => e.driftStatus },
          { header: 'late', get: (e) => e.latePredictions },
        ], '(no model endpoints yet: they appear with the first tracked request)');
      });
    });

  endpoints
    .command('get <id>')
    .description('show a model endpoint (an id prefix from `endpoints list` is enough)')
    .requiredOption('--project <name>', 'project')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const e = await resolveEndpoint(id, () => project.listModelEndpoints(), (x) => project.getModelEndpoint(x));
        if (o.json) return printJson(e);
        printFields({
          id: e.id,
          name: e.name,
          function: e.function,
          model: e.model,
          version: e.modelVersion,
          'model uri': e.modelUri,
          features: e.featureNames.join(', '),
          labels: e.labelNames.join(', '),
          monitoring: e.monitoringMode,
          'first request': time(e.firstRequest),
          'last request': time(e.lastRequest),
          errors: e.errorCount,
          'drift status': e.driftStatus,
          // Stored after their window was analyzed: `windows late` lists the windows, `windows reanalyze` takes them in.
          'late predictions': e.latePredictions,
          'predictions 5m': e.metrics?.predictions5m,
          'predictions 1h': e.metrics?.predictions1h,
          'avg latency 5m (ms)': latencyMs(e.metrics?.latencyAvg5mUs),
          'predictions/s': e.metrics?.predictionsPerSecond,
        });
      });
    });
}

/** Finds an endpoint by full id or by a unique prefix (tables show 12 characters). */
export async function resolveEndpoint(
  id: string,
  list: () => Promise<EndpointRecord[]>,
  get: (id: string) => Promise<EndpointRecord>,
): Promise<EndpointRecord> {
  if (id.length >= 40) return get(id);
  const matches = (await list()).filter((e) => e.id.startsWith(id));
  if (matches.length === 1) return get(matches[0]!.id); // the list's records leave the distributions out
  if (matches.length > 1) throw new UsageError(`endpoint id prefix '${id}' matches ${matches.length} endpoints; give more characters`);
  return get(id); // lets the server say not found
}

function latencyMs(us: number | null | undefined): number | undefined {
  return typeof us === 'number' ? us / 1000 : undefined;
}
