import type { Command } from 'commander';
import type { DisableMonitoringOptions, EnableMonitoringOptions } from '../../project/project.ts';
import { withProject } from '../context.ts';
import { lastErrorText, stateText } from '../function-state.ts';
import { printFields, printJson, time } from '../output.ts';
import { collect, nonNegative, valuePairs, wholeNumber } from '../parse.ts';

interface EnableFlags {
  basePeriod?: number;
  histogramApp: boolean;
  rebuild?: boolean;
  graceSeconds?: number;
  maxWindowsPerTick?: number;
  histogramOption?: string[];
  json?: boolean;
}

interface DisableFlags {
  resources: boolean;
  deleteStreamFunction?: boolean;
  histogramApp: boolean;
  deleteUserApplications?: boolean;
  userApplication?: string[];
}

/** `monitoring enable|disable|controller|status`. */
export function registerMonitoringCommands(program: Command): void {
  const monitoring = program.command('monitoring').description('turn model monitoring on and off for a project');

  monitoring
    .command('enable')
    .description('start the controller, writer and stream processor (and the histogram data-drift app)')
    .requiredOption('--project <name>', 'project')
    .option('--base-period <minutes>', 'window length and controller period, whole minutes (default 10)', wholeNumber)
    .option('--no-histogram-app', 'do not deploy the built-in histogram-data-drift app')
    .option('--rebuild', 'redeploy the infrastructure functions even when running')
    .option('--grace-seconds <s>', 'how long a window waits for late events (default 60)', nonNegative)
    .option('--max-windows-per-tick <n>', 'windows caught up per endpoint and app in one tick (default 12)', wholeNumber)
    .option('--histogram-option <key=value>', 'option of the drift app: potentialThreshold, detectedThreshold, binning (reference|mlrun), minSamples; e.g. minSamples=100 (repeatable)', collect)
    .option('--json', 'print the monitoring settings as JSON')
    .action(async (o: EnableFlags, cmd: Command) => {
      await withProject(cmd, async (project, client) => {
        const opts: EnableMonitoringOptions = { deployHistogramDataDriftApp: o.histogramApp };
        if (o.basePeriod !== undefined) opts.basePeriod = o.basePeriod;
        if (o.rebuild) opts.rebuild = true;
        if (o.graceSeconds !== undefined) opts.graceSeconds = o.graceSeconds;
        if (o.maxWindowsPerTick !== undefined) opts.maxWindowsPerTick = o.maxWindowsPerTick;
        if (o.histogramOption?.length) opts.histogramDataDriftOptions = valuePairs(o.histogramOption, 'histogram option');
        const settings = await project.enableModelMonitoring(opts);
        if (o.json) return printJson(settings);
        process.stdout.write(`monitoring enabled for '${project.name}': windows of ${settings?.basePeriodMinutes ?? '?'} min\n`);
        if (!(await client.health()).supervisor) {
          process.stdout.write('its functions are deployed and wait for a server: they start once `modelwatch up` runs on this store\n');
        }
      });
    });

  monitoring
    .command('disable')
    .description('stop the controller and writer (keeps endpoints, results and credentials)')
    .requiredOption('--project <name>', 'project')
    .option('--no-resources', 'keep the controller and writer running')
    .option('--delete-stream-function', 'also stop the stream processor')
    .option('--no-histogram-app', 'keep the histogram-data-drift app')
    .option('--delete-user-applications', 'also remove user monitoring apps')
    .option('--user-application <name>', 'only these user apps, with --delete-user-applications (repeatable)', collect)
    .action(async (o: DisableFlags, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const opts: DisableMonitoringOptions = {
          deleteResources: o.resources,
          deleteStreamFunction: o.deleteStreamFunction ?? false,
          deleteHistogramDataDriftApp: o.histogramApp,
          deleteUserApplications: o.deleteUserApplications ?? false,
          ...(o.userApplication?.length ? { userApplicationList: o.userApplication } : {}),
        };
        await project.disableModelMonitoring(opts);
        process.stdout.write(`monitoring disabled for '${project.name}'\n`);
      });
    });

  monitoring
    .command('controller')
    .description("change the running controller's base period")
    .requiredOption('--project <name>', 'project')
    .requiredOption('--base-period <minutes>', 'whole minutes', wholeNumber)
    .action(async (o: { basePeriod: number }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        await project.updateModelMonitoringController({ basePeriod: o.basePeriod });
        process.stdout.write(`controller of '${project.name}' now runs every ${o.basePeriod} min\n`);
      });
    });

  monitoring
    .command('status')
    .description('monitoring settings and the health of the infrastructure functions')
    .requiredOption('--project <name>', 'project')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project, client) => {
        const rec = await project.record();
        const infra = await project.listFunctions({ kind: 'infrastructure' });
        const { supervisor } = await client.health();
        if (o.json) return printJson({ monitoring: rec.monitoring, functions: infra, supervisor });
        printFields({
          enabled: rec.monitoring?.enabled ?? false,
          'base period (min)': rec.monitoring?.basePeriodMinutes,
          'grace seconds': rec.monitoring?.graceSeconds,
          'enabled at': time(rec.monitoring?.enabledAt),
          ...Object.fromEntries(infra.map((f) => [f.name, `${stateText(f, supervisor)}${f.status.state === 'crashed' && lastErrorText(f) ? ` (${lastErrorText(f)})` : ''}`])),
        });
      });
    });
}
