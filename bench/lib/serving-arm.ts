/**
 * The serving deployments the `serving` benchmark compares, set up through the SDK as a user sets
 * them up: {@link deployServing} on an embedded or a connected project, and, run as a program
 * (forked by `bench/serving.bench.ts`), one embedded server process: `Modelwatch.open` on a fresh
 * home with background workers, the serving function deployed in it.
 *
 * Program arguments: `--arm off|tracking|embedded`, `--home DIR`, `--code DIR` (where the model
 * module is written). First message to the parent: `{ cmd: 'ready', address }`; it answers
 * `{ cmd: 'results' }` with `{ cmd: 'results', count }` (app results stored so far) and exits on
 * `{ cmd: 'stop' }` after `mw.close()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Modelwatch } from '../../src/index.ts';
import type { Project } from '../../src/project/project.ts';
import type { RemoteProject } from '../../src/project/client.ts';

/** off: no tracking; tracking: tracked, nothing consumes the stream; embedded and up: monitoring enabled. */
export type Arm = 'off' | 'tracking' | 'embedded' | 'up';

export const PROJECT = 'bench';
export const FUNCTION = 'serving';
export const MODEL = 'm';
export const FEATURES = 4;

/** The model of `test/fixtures/models/linear-model.ts` as a module any worker process can import. */
const MODEL_MODULE = `export class LinearModel {
  constructor(init) { this.w = init.options.weights; }
  predict(rows) {
    return rows.map((r) => {
      if (r.some((v) => typeof v !== 'number')) throw new Error('every input must be a number');
      return r.reduce((s, v, i) => s + v * (this.w[i] ?? 0), 0);
    });
  }
}
`;

/** One row of `FEATURES` numbers, the body every request posts. */
export function requestBody(): string {
  const data = Array.from({ length: FEATURES }, (_, i) => Math.round(((i * 7919) % 1000) / 10) / 10);
  return JSON.stringify({ inputs: [{ name: 'x', shape: [1, FEATURES], datatype: 'FP64', data }] });
}

export const INFER_PATH = `/v2/models/${MODEL}/infer`;

/** Writes the model module into `codeDir`; returns its path. */
export function writeModel(codeDir: string): string {
  fs.mkdirSync(codeDir, { recursive: true });
  const file = path.join(codeDir, 'linear-model.mjs');
  fs.writeFileSync(file, MODEL_MODULE);
  return file;
}

/**
 * Logs the model with a training set (every arm serves the same logged model), enables monitoring
 * for `embedded` and `up` (1-minute windows, 5 s grace, the histogram drift app), deploys the
 * serving function (tracked but for `off`) and returns its address once it answers.
 */
export async function deployServing(project: Project | RemoteProject, arm: Arm, modelFile: string): Promise<string> {
  if (arm === 'embedded' || arm === 'up') await project.enableModelMonitoring({ basePeriod: 1, graceSeconds: 5 });
  const features = Array.from({ length: FEATURES }, (_, i) => `x${i}`);
  const trainingSet = Array.from({ length: 200 }, (_, i) => Object.fromEntries(features.map((f, j) => [f, ((i * (j + 3)) % 17) / 2])));
  const model = await project.logModel(MODEL, { trainingSet });
  const fn = await project.setFunction(FUNCTION);
  fn.addModel(MODEL, { modelPath: modelFile, className: 'LinearModel', modelUri: model.uri, options: { weights: features.map((_, i) => 1 / (i + 1)) } });
  if (arm !== 'off') fn.setTracking();
  const rec = await project.deployFunction(fn);
  const address = rec.status.address;
  if (!address) throw new Error(`the serving function reports no address: ${JSON.stringify(rec.status)}`);
  for (const until = Date.now() + 30_000; ; ) {
    if (await fetch(`${address}/v2/health/ready`).then((r) => r.ok, () => false)) return address;
    if (Date.now() > until) throw new Error(`the serving function did not answer at ${address}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Messages between the benchmark and an embedded server process. */
export type ArmCommand = { cmd: 'results' } | { cmd: 'stop' };
export type ArmReply = { cmd: 'ready'; address: string } | { cmd: 'results'; count: number } | { cmd: 'error'; message: string };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { arm: { type: 'string' }, home: { type: 'string' }, code: { type: 'string' } } });
  const arm = values.arm as Arm;
  if (!['off', 'tracking', 'embedded'].includes(arm) || !values.home || !values.code) throw new Error('usage: serving-arm.ts --arm off|tracking|embedded --home DIR --code DIR');
  const mw = await Modelwatch.open({ home: values.home, logLevel: 'warn' });
  const project = await mw.createProject(PROJECT);
  const address = await deployServing(project, arm, writeModel(values.code));
  process.on('message', (m: ArmCommand) => {
    if (m.cmd === 'results') {
      project.listResults({ limit: 100_000 }).then(
        (rows) => process.send!({ cmd: 'results', count: rows.length } satisfies ArmReply),
        (err: unknown) => process.send!({ cmd: 'error', message: String(err) } satisfies ArmReply),
      );
    } else if (m.cmd === 'stop') void mw.close().finally(() => process.exit(0));
  });
  process.send!({ cmd: 'ready', address } satisfies ArmReply);
}

if (process.argv[1] && process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  main().catch((err: unknown) => {
    process.send!({ cmd: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ArmReply);
    process.exit(1);
  });
}
