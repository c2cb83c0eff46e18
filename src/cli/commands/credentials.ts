import type { Command } from 'commander';
import { ModelwatchError } from '../../common/errors.ts';
import type { Credentials } from '../../store/port.ts';
import { withProject } from '../context.ts';
import { UsageError } from '../errors.ts';
import { printFields, printJson } from '../output.ts';

/** `credentials set|get`: where a project's monitoring data lives. Secrets are never printed. */
export function registerCredentialsCommands(program: Command): void {
  const credentials = program.command('credentials').description("where a project's monitoring data lives (connection URLs)");

  credentials
    .command('set')
    .description('set connection URLs; changing one that is set needs --replace')
    .requiredOption('--project <name>', 'project')
    .option('--endpoint-store-connection <url>', 'endpoint store, e.g. postgres://user:pass@host/db')
    .option('--tsdb-connection <url>', 'time-series database')
    .option('--stream-path <url>', 'stream, e.g. nats://host:4222')
    .option('--replace', 'overwrite values that are already set')
    .option('--json', 'print the result as JSON')
    .action(async (o: Credentials & { replace?: boolean; json?: boolean }, cmd: Command) => {
      const creds: Credentials & { replace?: boolean } = {};
      if (o.endpointStoreConnection) creds.endpointStoreConnection = o.endpointStoreConnection;
      if (o.tsdbConnection) creds.tsdbConnection = o.tsdbConnection;
      if (o.streamPath) creds.streamPath = o.streamPath;
      if (!Object.keys(creds).length) throw new UsageError('credentials set needs at least one of --endpoint-store-connection, --tsdb-connection, --stream-path');
      if (o.replace) creds.replace = true;
      await withProject(cmd, async (project) => {
        let view: Awaited<ReturnType<typeof project.setModelMonitoringCredentials>>;
        try {
          view = await project.setModelMonitoringCredentials(creds);
        } catch (err) {
          // The SDK's message names the SDK option; on the command line it is a flag.
          if (err instanceof ModelwatchError && err.code === 'conflict') throw new ModelwatchError(err.code, err.message.replace('replace: true', '--replace'), { httpStatus: err.httpStatus });
          throw err;
        }
        if (o.json) return printJson(view);
        const { notAvailable, ...set } = view;
        printFields(set as Record<string, unknown>);
        for (const n of notAvailable) process.stderr.write(`warning: ${n}\n`);
      });
    });

  credentials
    .command('get')
    .description('which connections are set (passwords hidden)')
    .requiredOption('--project <name>', 'project')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const view = await project.getModelMonitoringCredentials();
        if (o.json) return printJson(view);
        if (!Object.keys(view).length) return void process.stdout.write('(none set: the platform defaults are used)\n');
        printFields(view as Record<string, unknown>);
      });
    });
}
