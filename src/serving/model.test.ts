import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelError, ValidationError } from '../common/errors.ts';
import { ensureLoaded, loadModelClass } from './model.ts';

let dir = '';

const files: Record<string, string> = {
  'sum.mjs': `
    export default class SumModel {
      constructor(options) { this.scale = options.scale ?? 1; this.loads = 0; }
      load() { this.loads += 1; }
      predict(rows) { return rows.map((r) => r.reduce((a, b) => a + b, 0) * this.scale); }
    }`,
  'named.ts': `
    export class Doubler {
      loaded = false;
      async load(): Promise<void> { this.loaded = true; }
      predict(rows: unknown[][]): number[] { return rows.map((r) => Number(r[0]) * 2); }
    }
    export const notAModel = { hello: 1 };`,
  'object.mjs': `export const model = { predict: (rows) => rows.map(() => 'yes') };`,
  'fn.mjs': `export default function predict(rows) { return rows.map((r) => r.length); }`,
  'module-predict.mjs': `export function predict(rows) { return rows.map(() => 0); }`,
  'nodefault.mjs': `export class A { predict() { return []; } }`,
  'broken-load.mjs': `export default class { load() { throw new Error('weights missing'); } predict() { return []; } }`,
  'syntax.mjs': `export default class {`,
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mw-model-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rejectsWith = (p: Promise<unknown>, cls: new (...a: never[]) => Error, re: RegExp) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.match((err as Error).message, re);
    return true;
  });

describe('loadModelClass', () => {
  it('instantiates the default export with options and loads it once', async () => {
    const m = (await loadModelClass({ modelPath: 'sum.mjs', baseDir: dir, options: { scale: 10 } })) as unknown as { loads: number } & Awaited<ReturnType<typeof loadModelClass>>;
    assert.deepEqual(await m.predict([[1, 2], [3, 4]]), [30, 70]);
    assert.equal(m.loads, 1);
    await ensureLoaded(m);
    assert.equal(m.loads, 1);
  });

  it('takes a named export from a TypeScript module', async () => {
    const m = await loadModelClass({ modelPath: join(dir, 'named.ts'), className: 'Doubler' });
    assert.equal((m as unknown as { loaded: boolean }).loaded, true);
    assert.deepEqual(await m.predict([[2], [5]]), [4, 10]);
  });

  it('takes an object, a plain function or a module exporting predict', async () => {
    assert.deepEqual(await (await loadModelClass({ modelPath: 'object.mjs', className: 'model', baseDir: dir })).predict([[1]]), ['yes']);
    assert.deepEqual(await (await loadModelClass({ modelPath: 'fn.mjs', baseDir: dir })).predict([[1, 2, 3]]), [3]);
    assert.deepEqual(await (await loadModelClass({ modelPath: 'module-predict.mjs', baseDir: dir })).predict([[1]]), [0]);
  });

  it('says clearly when the file or export is missing or not a model', async () => {
    await rejectsWith(loadModelClass({ modelPath: 'nope.mjs', baseDir: dir }), ValidationError, /model file '.*nope\.mjs' was not found \(modelPath 'nope\.mjs'\)/);
    await rejectsWith(loadModelClass({ modelPath: 'named.ts', baseDir: dir, className: 'Tripler' }), ValidationError, /has no export 'Tripler' \(exports: Doubler, notAModel\)/);
    await rejectsWith(loadModelClass({ modelPath: 'named.ts', baseDir: dir, className: 'notAModel' }), ValidationError, /export 'notAModel' of '.*named\.ts' is not a model: it needs a predict\(rows\) method/);
    await rejectsWith(loadModelClass({ modelPath: 'nodefault.mjs', baseDir: dir }), ValidationError, /has no default export; name the class with className \(exports: A\)/);
    await rejectsWith(loadModelClass({ modelPath: '', baseDir: dir }), ValidationError, /modelPath must be a non-empty string/);
  });

  it('reports failures of the model code as ModelError', async () => {
    await rejectsWith(loadModelClass({ modelPath: 'broken-load.mjs', baseDir: dir }), ModelError, /model 'broken-load\.mjs' failed: weights missing/);
    await rejectsWith(loadModelClass({ modelPath: 'syntax.mjs', baseDir: dir }), ModelError, /importing '.*syntax\.mjs' failed/);
  });
});

describe('ensureLoaded', () => {
  it('calls load once however many callers ask', async () => {
    let loads = 0;
    const model = { load: async () => void (loads += 1), predict: (rows: unknown[][]) => rows };
    await Promise.all([ensureLoaded(model), ensureLoaded(model), ensureLoaded(model)]);
    assert.equal(loads, 1);
  });
});
