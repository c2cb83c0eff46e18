import type { Command } from 'commander';
import type { LogModelOptions } from '../../project/project.ts';
import { withProject } from '../context.ts';
import { printFields, printJson, printTable, time } from '../output.ts';
import { collect, stringPairs } from '../parse.ts';

interface LogFlags {
  trainingSet: string;
  labelColumn?: string[];
  input?: string[];
  modelFile?: string;
  tag?: string;
  label?: string[];
  json?: boolean;
}

/** `models log|list|get`: logged models and their reference statistics. */
export function registerModelCommands(program: Command): void {
  const models = program.command('models').description('logged models and their reference statistics');

  models
    .command('log <key>')
    .description('log a model with its training set (CSV, JSON lines or Parquet); computes reference statistics')
    .requiredOption('--project <name>', 'project')
    .requiredOption('--training-set <file>', 'training data file')
    .option('--label-column <name>', 'label column (repeatable)', collect)
    .option('--input <name>', 'feature column (repeatable; default: every column but the labels)', collect)
    .option('--model-file <file>', 'the model file to store with it')
    .option('--tag <tag>', 'version tag (default latest)')
    .option('--label <key=value>', 'label (repeatable)', collect)
    .option('--json', 'print the model record as JSON')
    .action(async (key: string, o: LogFlags, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const opts: LogModelOptions = { trainingSet: { path: o.trainingSet }, labels: stringPairs(o.label, 'label') };
        if (o.labelColumn?.length) opts.labelColumn = o.labelColumn;
        if (o.input?.length) opts.inputs = o.input;
        if (o.modelFile) opts.modelFile = o.modelFile;
        if (o.tag) opts.tag = o.tag;
        const rec = await project.logModel(key, opts);
        if (o.json) return printJson(rec);
        process.stdout.write(`logged ${rec.uri}: ${rec.featureNames.length} features, ${rec.labelNames.length} labels\n`);
      });
    });

  models
    .command('list')
    .description('list logged models')
    .requiredOption('--project <name>', 'project')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const recs = await project.listModels();
        if (o.json) return printJson(recs);
        printTable(recs, [
          { header: 'key', get: (m) => m.key },
          { header: 'tag', get: (m) => m.tag },
          { header: 'uri', get: (m) => m.uri },
          { header: 'features', get: (m) => m.featureNames.length },
          { header: 'labels', get: (m) => m.labelNames.join(', ') },
          { header: 'created', get: (m) => time(m.createdAt) },
        ], '(no models)');
      });
    });

  models
    .command('get <key>')
    .description('show a logged model')
    .requiredOption('--project <name>', 'project')
    .option('--tag <tag>', 'version tag (default latest)')
    .option('--json', 'print JSON')
    .action(async (key: string, o: { tag?: string; json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const m = await project.getModel(key, o.tag ?? 'latest');
        if (o.json) return printJson(m);
        printFields({
          uri: m.uri,
          'model file': m.modelFile,
          features: m.featureNames.join(', '),
          labels: m.labelNames.join(', '),
          'training set': m.trainingSet ?? 'not kept (logged before training sets were kept: log the model again)',
          created: time(m.createdAt),
        });
      });
    });
}
