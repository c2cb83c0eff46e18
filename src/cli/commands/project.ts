import type { Command } from 'commander';
import type { ProjectRecord } from '../../store/port.ts';
import { withClient } from '../context.ts';
import { printFields, printJson, printTable, time } from '../output.ts';
import { collect, stringPairs } from '../parse.ts';

/** `project create|list|get|delete`. */
export function registerProjectCommands(program: Command): void {
  const project = program.command('project').description('create, list, show and delete projects');

  project
    .command('create <name>')
    .description('create a project')
    .option('--description <text>', 'what the project is for')
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .option('--json', 'print the project as JSON')
    .action(async (name: string, o: { description?: string; label?: string[]; json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        await client.createProject(name, { ...(o.description ? { description: o.description } : {}), labels: stringPairs(o.label, 'label') });
        const rec = await (await client.getProject(name)).record();
        if (o.json) printJson(rec);
        else process.stdout.write(`created project '${name}'\n`);
      });
    });

  project
    .command('list')
    .description('list projects')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const projects = await client.listProjects();
        if (o.json) return printJson(projects);
        printTable(projects, [
          { header: 'name', get: (p) => p.name },
          { header: 'monitoring', get: monitoringSummary },
          { header: 'created', get: (p) => time(p.createdAt) },
          { header: 'description', get: (p) => p.description },
        ], '(no projects)');
      });
    });

  project
    .command('get <name>')
    .description('show a project')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const p = await (await client.getProject(name)).record();
        if (o.json) return printJson(p);
        printFields({
          name: p.name,
          description: p.description,
          labels: Object.keys(p.labels).length ? p.labels : undefined,
          monitoring: monitoringSummary(p),
          'grace seconds': p.monitoring?.graceSeconds,
          created: time(p.createdAt),
        });
      });
    });

  project
    .command('delete <name>')
    .description('delete a project with its functions, models, endpoints and credentials')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        await client.deleteProject(name);
        process.stdout.write(`deleted project '${name}'\n`);
      });
    });
}

function monitoringSummary(p: ProjectRecord): string {
  if (!p.monitoring) return 'off';
  return p.monitoring.enabled ? `on (every ${p.monitoring.basePeriodMinutes} min)` : 'disabled';
}
