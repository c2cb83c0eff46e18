import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { connect, ManualClock, Modelwatch, type Project } from '../../src/index.ts';
import { TrainingSets } from '../../src/apps/training-sets.ts';
import { toColumns, type Table } from '../../src/data/tabular.ts';
import { dataDriftReport } from '../../src/report/data-drift-report.ts';
import { startServer } from '../server/helpers.ts';
import { tempHome } from './helpers.ts';
import { vegaRows } from './vega-data.ts';

/*
 * logModel keeps the training set's used columns (features, then labels) as Parquet in the model's
 * artifact folder and records where, in embedded and connected mode alike; the rows read back give
 * the report the numbers the original rows give. The app runner reads them once per model.
 */
const penguins = vegaRows('penguins');
const FEATURES = ['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Sex'];
const LABEL = 'Body Mass (g)';

let mw: Modelwatch;
let project: Project;
let clock: ManualClock;
let cleanup: () => void;
let server: { app: FastifyInstance; url: string };

before(async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  clock = new ManualClock(Date.UTC(2026, 5, 1));
  mw = await Modelwatch.open({ home: t.home, clock, background: false });
  project = await mw.createProject('ts');
  server = await startServer(mw.platform);
});

after(async () => {
  await server?.app.close();
  await mw?.close();
  cleanup?.();
});

/** Cell by cell with Object.is (null stays null, strings stay strings). */
function assertSameTable(got: Table, want: Table): void {
  assert.deepEqual(got.names, want.names);
  assert.equal(got.rowCount, want.rowCount);
  for (const n of want.names) {
    (want.columns[n] as unknown[]).forEach((v, i) => assert.ok(Object.is((got.columns[n] as unknown[])[i], v), `${n}[${i}]: ${String(v)} became ${String((got.columns[n] as unknown[])[i])}`));
  }
}

/** A window unlike the training set: heavier, more males, no Biscoe. */
const shifted = {
  Species: penguins.map((_, i) => ['Adelie', 'Gentoo', 'Chinstrap'][i % 3]),
  Island: penguins.map((_, i) => (i % 2 ? 'Dream' : null)),
  'Beak Length (mm)': penguins.map((r) => r['Beak Length (mm)']),
  'Beak Depth (mm)': penguins.map((r) => r['Beak Depth (mm)']),
  'Flipper Length (mm)': penguins.map((r) => (typeof r['Flipper Length (mm)'] === 'number' ? r['Flipper Length (mm)'] + 9 : null)),
  Sex: penguins.map((_, i) => (i % 4 ? 'MALE' : null)),
  [LABEL]: penguins.map((r) => r[LABEL]),
};

test('embedded: the training set is kept as Parquet and reads back cell for cell; the report on it is the same', async () => {
  const rec = await project.logModel('penguins', { model: {}, trainingSet: penguins, inputs: FEATURES, labelColumn: LABEL });
  assert.equal(rec.trainingSet, path.join('ts', 'models', 'penguins', 'latest', 'training-set.parquet'));
  assert.equal((await project.getModel('penguins')).trainingSet, rec.trainingSet, 'recorded in the store');
  const original = await toColumns(penguins, { columns: [...FEATURES, LABEL] });
  assert.ok((original.columns.Sex as unknown[]).includes(null) && (original.columns[LABEL] as unknown[]).includes(null), 'strings and numbers with missing values');
  const back = await toColumns({ path: path.join(mw.platform.options.artifactPath, rec.trainingSet!) });
  assertSameTable(back, original);
  const report = dataDriftReport(back, shifted);
  assert.deepEqual(report, dataDriftReport(original, shifted));
  assert.ok(report.datasetDrift, 'the comparison sees the shift');
});

test('connected: the server keeps the training set the client sends, in column order', async () => {
  const remote = await connect({ url: server.url }).getProject('ts');
  const rec = await remote.logModel('penguins-remote', { model: {}, trainingSet: penguins, inputs: FEATURES, labelColumn: LABEL });
  assert.equal(rec.trainingSet, path.join('ts', 'models', 'penguins-remote', 'latest', 'training-set.parquet'));
  const back = await toColumns({ path: path.join(mw.platform.options.artifactPath, rec.trainingSet!) });
  assertSameTable(back, await toColumns(penguins, { columns: [...FEATURES, LABEL] }));

  // Columns travel as a JSON object, which puts integer-like names first; the order stays the file's.
  const numbered = { csv: 'b,1,y\n1,x,0.5\n2,,\n3,y,1.5\n' };
  const local = await project.logModel('numbered', { trainingSet: numbered, labelColumn: 'y' });
  const sent = await remote.logModel('numbered-remote', { trainingSet: numbered, labelColumn: 'y' });
  assert.deepEqual(local.featureNames, ['b', '1']);
  assert.deepEqual(sent.featureNames, local.featureNames);
  const file = await toColumns({ path: path.join(mw.platform.options.artifactPath, sent.trainingSet!) });
  assertSameTable(file, { names: ['b', '1', 'y'], columns: { b: [1, 2, 3], '1': ['x', null, 'y'], y: [0.5, null, 1.5] }, rowCount: 3 });
});

test("a model's labels are its own: the training set's path is kept beside them", async () => {
  const rec = await project.logModel('labelled', { trainingSet: { a: [1] }, labels: { team: 'risk' } });
  assert.deepEqual((await project.getModel('labelled')).labels, { team: 'risk' });
  assert.ok(rec.trainingSet);
});

test('the runner reads a model’s training set once, again when the model is logged again, and none for old models', async () => {
  const sets = new TrainingSets(mw.platform);
  const rec = await project.logModel('cached', { trainingSet: { x: [1, 2, 3], s: ['a', null, 'b'] } });
  const first = await sets.get(rec.uri);
  assert.deepEqual(first?.names, ['x', 's']);
  assert.equal(first?.modelUri, rec.uri);
  const file = path.join(mw.platform.options.artifactPath, rec.trainingSet!);
  await fs.rm(file);
  assert.equal(await sets.get(rec.uri), first, 'the same rows, the file not read again');

  clock.advance(1000);
  await project.logModel('cached', { trainingSet: { x: [7, 8], s: ['c', 'd'] } });
  assert.deepEqual((await sets.get(rec.uri))?.columns, { x: [7, 8], s: ['c', 'd'] }, 'logged again: read again');

  const { trainingSet: _kept, ...old } = await project.logModel('old', { trainingSet: { x: [1] } });
  await mw.platform.store.putModel(old);
  assert.equal(await sets.get(old.uri), undefined, 'a model logged before training sets were kept');
  assert.equal(await sets.get('store://models/ts/nothing:latest'), undefined);
  assert.equal(await sets.get(''), undefined);

  const gone = await project.logModel('gone', { trainingSet: { x: [1] } });
  await fs.rm(path.join(mw.platform.options.artifactPath, gone.trainingSet!));
  await assert.rejects(sets.get(gone.uri), /training-set\.parquet/, 'a kept file that is gone is an error, not "no reference"');
});
