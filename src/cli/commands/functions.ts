import fs from 'node:fs/promises';
import type { Command } from 'commander';
import type { ServingFunction } from '../../project/functions.ts';
import type { FunctionRecord } from '../../store/port.ts';
import { NoSupervisorError } from '../../common/errors.ts';
import type { RemoteProject } from '../../project/client.ts';
import { withProject } from '../context.ts';
import { lastErrorText, noServerError, stateText } from '../function-state.ts';
import { UsageError } from '../errors.ts';
import { printFields, printJson, printTable, time } from '../output.ts';
import { collect, stringPairs, valuePairs, wholeNumber } from '../parse.ts';

interface SetFlags {
  kind?: string;
  application?: string;
  className?: string;
  option?: string[];
  label?: string[];
  model?: string[];
  modelUri?: string[];
  source?: string;
  tracking?: boolean;
  samplingPercentage?: number;
  durableTracking?: boolean;
  port?: number;
  host?: string;
  requireToken?: boolean;
  deploy?: boolean;
  wait: boolean;
  timeout?: number;
  json?: boolean;
}

interface DeployFlags {
  wait: boolean;
  timeout?: number;
}

/** Deploys and waits (unless --no-wait); no supervisor to run it gets the CLI's own words. */
async function deploy(cmd: Command, project: RemoteProject, name: string, o: DeployFlags): Promise<FunctionRecord> {
  try {
    return await project.deployFunction(name, { wait: o.wait, ...(o.timeout !== undefined ? { timeoutSeconds: o.timeout } : {}) });
  } catch (err) {
    if (err instanceof NoSupervisorError) throw noServerError(cmd, [name], project.name);
    throw err;
  }
}

/** What a deploy did, in one line. */
function deployedText(r: FunctionRecord): string {
  if (r.status.state !== 'running') return `marked '${r.name}' deployed (not waiting for it: state ${r.status.state})`;
  return `deployed '${r.name}': running${r.status.address ? ` at ${r.status.address}` : ''}`;
}

/** `functions set|create|list|get|remove|deploy|undeploy|invoke`. */
export function registerFunctionCommands(program: Command): void {
  const functions = program.command('functions').description('monitoring applications and serving functions of a project');

  functions
    .command('set <name>')
    .description('register (or replace) a monitoring app (--application) or a serving function (--kind serving --model ...)')
    .requiredOption('--project <name>', 'project')
    .option('--kind <kind>', 'monitoring-application (default) or serving')
    .option('--application <file>', 'monitoring app: module file exporting the app class, or a built-in app (data-drift-report)')
    .option('--class-name <name>', 'monitoring app: the export to use (default: the default export or the first app class)')
    .option('--option <key=value>', 'monitoring app: option handed to the app (repeatable)', collect)
    .option('--label <key=value>', 'label (repeatable)', collect)
    .option('--model <name=module[:className]>', 'serving: a model and the module exporting its class (repeatable)', collect)
    .option('--model-uri <name=store://models/...>', 'serving: the logged model a model serves, for reference statistics (repeatable)', collect)
    .option('--source <file>', 'serving: module holding model classes named by className')
    .option('--tracking', 'serving: send every request to the monitoring stream')
    .option('--sampling-percentage <pct>', 'serving: share of requests tracked (default 100)', Number)
    .option('--durable-tracking', 'serving: answer a prediction only once its event is in the stream (with --tracking)')
    .option('--port <port>', 'serving: port to listen on (default: any free port)', wholeNumber)
    .option('--host <host>', 'serving: interface to listen on (default 127.0.0.1); another one needs --require-token')
    .option('--require-token', 'serving: every request but the health checks needs an API token of the project whose role may invoke (invoker, editor, admin)')
    .option('--deploy', 'deploy it too, and wait until it runs (needs `modelwatch up`)')
    .option('--no-wait', 'with --deploy: only mark it deployed, do not wait for it to run')
    .option('--timeout <seconds>', 'with --deploy: how long to wait for it to run (default 60)', wholeNumber)
    .option('--json', 'print the function as JSON')
    .action(async (name: string, o: SetFlags, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const kind = o.kind ?? (o.model?.length ? 'serving' : 'monitoring-application');
        let rec: FunctionRecord;
        if (kind === 'serving') {
          if (o.application || o.className || o.option?.length) throw new UsageError('--application, --class-name and --option are for monitoring apps, not --kind serving');
          rec = await project.saveFunction(await servingFunction(project.name, name, o), { labels: stringPairs(o.label, 'label') });
        } else if (kind === 'monitoring-application') {
          if (!o.application) throw new UsageError('functions set needs --application FILE (a monitoring app) or --kind serving with --model');
          if (o.model?.length || o.source || o.tracking || o.host || o.requireToken) throw new UsageError('--model, --source, --tracking, --host and --require-token are for --kind serving');
          rec = await project.setModelMonitoringFunction({
            name,
            application: o.application,
            ...(o.className ? { className: o.className } : {}),
            options: valuePairs(o.option, 'option'),
            labels: stringPairs(o.label, 'label'),
          });
        } else {
          throw new UsageError(`--kind must be monitoring-application or serving, got '${kind}'`);
        }
        if (o.deploy) {
          if (!o.json) process.stdout.write(`registered ${rec.kind} function '${name}'\n`);
          rec = await deploy(cmd, project, name, o);
          if (o.json) return printJson(rec);
          process.stdout.write(`${deployedText(rec)}\n`);
          return;
        }
        if (o.json) return printJson(rec);
        process.stdout.write(`registered ${rec.kind} function '${name}'; deploy it with: modelwatch functions deploy ${name} --project ${project.name}\n`);
      });
    });

  functions
    .command('create <name>')
    .description('build a monitoring app function and print it, without registering it')
    .requiredOption('--project <name>', 'project')
    .requiredOption('--application <file>', 'module file exporting the app class')
    .option('--class-name <name>', 'the export to use')
    .option('--option <key=value>', 'option handed to the app (repeatable)', collect)
    .option('--label <key=value>', 'label (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(async (name: string, o: SetFlags, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const fn = project.createModelMonitoringFunction({
          name,
          application: o.application!,
          ...(o.className ? { className: o.className } : {}),
          options: valuePairs(o.option, 'option'),
          labels: stringPairs(o.label, 'label'),
        });
        const out = { project: fn.project, name: fn.name, kind: fn.kind, spec: fn.spec, labels: fn.labels };
        if (o.json) return printJson(out);
        printFields({ name: out.name, kind: out.kind, application: fn.applicationRef, 'class name': fn.spec.className, options: fn.spec.options, labels: out.labels });
      });
    });

  functions
    .command('list')
    .description('list functions with their state and last error')
    .requiredOption('--project <name>', 'project')
    .option('--kind <kind>', 'only serving, monitoring-application or infrastructure')
    .option('--json', 'print JSON')
    .action(async (o: { kind?: string; json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project, client) => {
        const fns = await project.listFunctions(o.kind ? { kind: o.kind as FunctionRecord['kind'] } : {});
        if (o.json) return printJson(fns);
        const { supervisor } = await client.health();
        printTable(fns, [
          { header: 'name', get: (f) => f.name },
          { header: 'kind', get: (f) => f.kind },
          { header: 'state', get: (f) => stateText(f, supervisor) },
          { header: 'pid', get: (f) => (f.status.state === 'running' || f.status.state === 'starting' ? f.status.pid : undefined) },
          { header: 'restarts', get: (f) => f.status.restarts },
          { header: 'address', get: (f) => (f.status.state === 'running' ? f.status.address : undefined) },
          { header: 'updated', get: (f) => time(f.updatedAt) },
          { header: 'last error', get: (f) => lastErrorText(f) },
        ], '(no functions)');
      });
    });

  functions
    .command('get <name>')
    .description('show a function, its spec and health')
    .requiredOption('--project <name>', 'project')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const f = await project.getFunction(name);
        if (o.json) return printJson(f);
        const { heartbeatAt, ...status } = f.status;
        printFields({ name: f.name, kind: f.kind, deployed: f.deployed, ...status, 'last heartbeat': time(heartbeatAt), spec: f.spec, labels: f.labels, updated: time(f.updatedAt) });
      });
    });

  functions
    .command('remove <names...>')
    .description('remove serving functions or monitoring apps (their workers stop)')
    .requiredOption('--project <name>', 'project')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      await withProject(cmd, async (project) => {
        for (const n of names) {
          await project.deleteFunction(n);
          process.stdout.write(`removed '${n}'\n`);
        }
      });
    });

  functions
    .command('deploy <names...>')
    .description('run the functions (`modelwatch up` supervises them) and wait until each runs, or print its error')
    .requiredOption('--project <name>', 'project')
    .option('--no-wait', 'only mark them deployed, do not wait for them to run')
    .option('--timeout <seconds>', 'how long to wait for each to run (default 60)', wholeNumber)
    .option('--json', 'print the function records as JSON')
    .action(async (names: string[], o: DeployFlags & { json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const recs: FunctionRecord[] = [];
        for (const n of names) {
          const r = await deploy(cmd, project, n, o);
          recs.push(r);
          if (!o.json) process.stdout.write(`${deployedText(r)}\n`);
        }
        if (o.json) printJson(recs);
      });
    });

  functions
    .command('undeploy <names...>')
    .description('stop the functions and keep them registered')
    .requiredOption('--project <name>', 'project')
    .option('--json', 'print the function records as JSON')
    .action(async (names: string[], o: { json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const recs: FunctionRecord[] = [];
        for (const n of names) recs.push(await project.undeployFunction(n));
        if (o.json) return printJson(recs);
        for (const r of recs) process.stdout.write(`undeployed '${r.name}'\n`);
      });
    });

  functions
    .command('invoke <name> <path>')
    .description("send a request to a deployed serving function, e.g. /v2/models/NAME/infer")
    .requiredOption('--project <name>', 'project')
    .option('--body <json|@file>', 'JSON body (POST); without it the request is a GET')
    .action(async (name: string, urlPath: string, o: { body?: string }, cmd: Command) => {
      let body: unknown;
      if (o.body !== undefined) {
        const text = o.body.startsWith('@') ? await fs.readFile(o.body.slice(1), 'utf8') : o.body;
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw new UsageError(`--body is not JSON: ${(err as Error).message}`);
        }
      }
      await withProject(cmd, async (project) => printJson(await project.invoke(name, urlPath, body)));
    });
}

/** A serving function from `--model name=module[:className]` and friends. */
async function servingFunction(project: string, name: string, o: SetFlags): Promise<ServingFunction> {
  if (!o.model?.length) throw new UsageError('--kind serving needs at least one --model name=module[:className]');
  const { ServingFunction } = await import('../../project/functions.ts');
  const fn = new ServingFunction(project, name, {
    ...(o.source ? { source: o.source } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.requireToken ? { requireToken: true } : {}),
  });
  const uris = stringPairs(o.modelUri, 'model URI');
  for (const m of o.model) {
    const eq = m.indexOf('=');
    if (eq <= 0) throw new UsageError(`--model '${m}' is not of the form name=module[:className]`);
    const modelName = m.slice(0, eq);
    let modulePath = m.slice(eq + 1);
    let className: string | undefined;
    const colon = modulePath.lastIndexOf(':');
    // `:Name` after the file picks the export; a colon inside a path (C:\...) is not one.
    if (colon > 0 && /^[A-Za-z_$][\w$]*$/.test(modulePath.slice(colon + 1))) {
      className = modulePath.slice(colon + 1);
      modulePath = modulePath.slice(0, colon);
    }
    const uri = uris[modelName];
    fn.addModel(modelName, { ...(modulePath ? { modelPath: modulePath } : {}), ...(className ? { className } : {}), ...(uri ? { modelUri: uri } : {}) });
  }
  for (const n of Object.keys(uris)) if (!o.model.some((m) => m.startsWith(`${n}=`))) throw new UsageError(`--model-uri names model '${n}', which no --model defines`);
  if (o.durableTracking && !o.tracking) throw new UsageError('--durable-tracking goes with --tracking');
  if (o.tracking) fn.setTracking({ ...(o.samplingPercentage !== undefined ? { samplingPercentage: o.samplingPercentage } : {}), ...(o.durableTracking ? { durable: true } : {}) });
  return fn;
}
