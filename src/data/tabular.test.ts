import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { ValidationError } from '../common/errors.ts';
import { dropColumns, selectColumns, toColumns } from './tabular.ts';

const dir = mkdtempSync(join(tmpdir(), 'modelwatch-tabular-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('row objects: union of keys in first-seen order, missing keys are null', async () => {
  const t = await toColumns([{ a: 1, b: 'x' }, { b: 'y', c: 2n }, { a: undefined }]);
  assert.deepEqual(t.names, ['a', 'b', 'c']);
  assert.deepEqual(t.columns, { a: [1, null, null], b: ['x', 'y', null], c: [null, 2, null] });
  assert.equal(t.rowCount, 3);
});

test('arrays of arrays: names from opts.columns, or f0..fN', async () => {
  const named = await toColumns([[1, 2], [3, 4]], { columns: ['x', 'y'] });
  assert.deepEqual(named.columns, { x: [1, 3], y: [2, 4] });
  const unnamed = await toColumns([[1, 2, 3]]);
  assert.deepEqual(unnamed.names, ['f0', 'f1', 'f2']);
});

test('arrays of arrays: ragged rows are an error', async () => {
  await assert.rejects(toColumns([[1, 2], [3]]), ValidationError);
  await assert.rejects(toColumns([[1, 2], [3, 4]], { columns: ['x'] }), /row 0 has 2 values, expected 1/);
  await assert.rejects(toColumns([[1], { a: 1 }] as unknown as unknown[][]), ValidationError);
});

test('columnar objects, typed arrays included; different lengths are an error', async () => {
  const t = await toColumns({ a: [1, 2], b: new Float64Array([0.5, 1.5]) });
  assert.deepEqual(t.columns, { a: [1, 2], b: [0.5, 1.5] });
  assert.equal(t.rowCount, 2);
  await assert.rejects(toColumns({ a: [1, 2], b: [1] }), /different lengths/);
  await assert.rejects(toColumns({ a: [1], b: 'x' } as never), /not an array/);
});

test('empty input is an error unless allowEmpty', async () => {
  await assert.rejects(toColumns([]), /no rows/);
  await assert.rejects(toColumns({ a: [] }), /no rows/);
  await assert.rejects(toColumns({ csv: 'a,b\n' }), /no rows/);
  await assert.rejects(toColumns({}), ValidationError);
  const t = await toColumns([], { columns: ['a'], allowEmpty: true });
  assert.deepEqual(t, { names: ['a'], columns: { a: [] }, rowCount: 0 });
});

test('csv text: numbers cast, empty cells null, other text kept', async () => {
  const t = await toColumns({ csv: '\uFEFFa,b,c\n1,x,\n-2.5e1, 7 ,NA\n\n' });
  assert.deepEqual(t.names, ['a', 'b', 'c']);
  assert.deepEqual(t.columns, { a: [1, -25], b: ['x', 7], c: [null, 'NA'] });
  await assert.rejects(toColumns({ csv: 'a,b\n1,2\n3\n' }), ValidationError);
  await assert.rejects(toColumns({ csv: 'a,a\n1,2\n' }), /duplicate column name 'a'/);
  const pandasIndex = await toColumns({ csv: ',a\n0,1\n' });
  assert.deepEqual(pandasIndex.names, ['Unnamed: 0', 'a']);
});

test('jsonl text, with a line number in errors', async () => {
  const t = await toColumns({ jsonl: '{"a":1}\n\n{"a":2,"b":"z"}\n' });
  assert.deepEqual(t.columns, { a: [1, 2], b: [null, 'z'] });
  await assert.rejects(toColumns({ jsonl: '{"a":1}\n{oops\n' }), /line 2/);
  await assert.rejects(toColumns({ jsonl: '[1,2]\n' }), /not an object/);
});

test('files: csv, jsonl, ndjson, json (rows or columns), parquet', async () => {
  const csv = join(dir, 't.csv');
  writeFileSync(csv, 'x,y\n1,a\n2,b\n');
  const jsonl = join(dir, 't.ndjson');
  writeFileSync(jsonl, '{"x":1,"y":"a"}\n{"x":2,"y":"b"}\n');
  const jsonRows = join(dir, 'rows.json');
  writeFileSync(jsonRows, JSON.stringify([{ x: 1, y: 'a' }, { x: 2, y: 'b' }]));
  const jsonCols = join(dir, 'cols.JSON');
  writeFileSync(jsonCols, JSON.stringify({ x: [1, 2], y: ['a', 'b'] }));
  const parquet = join(dir, 't.parquet');
  parquetWriteFile({
    filename: parquet,
    columnData: [
      // INT64 reads back as bigint; the table turns it into numbers.
      { name: 'x', data: [1n, 2n], type: 'INT64' },
      { name: 'y', data: ['a', 'b'], type: 'STRING' },
    ],
  });
  for (const path of [csv, jsonl, jsonRows, jsonCols, parquet]) {
    const t = await toColumns({ path });
    assert.deepEqual(t, { names: ['x', 'y'], columns: { x: [1, 2], y: ['a', 'b'] }, rowCount: 2 }, path);
  }
  const picked = await toColumns({ path: parquet }, { columns: ['y'] });
  assert.deepEqual(picked.columns, { y: ['a', 'b'] });
  const withNulls = join(dir, 'nulls.parquet');
  parquetWriteFile({ filename: withNulls, columnData: [{ name: 'v', data: [0.5, null, 2], type: 'DOUBLE' }] });
  assert.deepEqual((await toColumns({ path: withNulls })).columns, { v: [0.5, null, 2] });
});

test('files: unknown formats, missing files and bad JSON are validation errors', async () => {
  await assert.rejects(toColumns({ path: join(dir, 'x.xlsx') }), /cannot tell the format/);
  await assert.rejects(toColumns({ path: join(dir, 'missing.csv') }), ValidationError);
  const odd = join(dir, 'data.txt');
  writeFileSync(odd, 'x\n1\n');
  assert.deepEqual((await toColumns({ path: odd }, { format: 'csv' })).columns, { x: [1] });
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '42');
  await assert.rejects(toColumns({ path: bad }), /array of rows or an object of columns/);
});

test('selectColumns, dropColumns and opts.columns as a selection', async () => {
  const t = await toColumns({ a: [1], b: [2], c: [3] });
  assert.deepEqual(selectColumns(t, ['c', 'a']).names, ['c', 'a']);
  assert.deepEqual(dropColumns(t, ['b']).columns, { a: [1], c: [3] });
  assert.throws(() => selectColumns(t, ['z']), ValidationError);
  assert.throws(() => dropColumns(t, ['z']), ValidationError);
  const rows = await toColumns([{ a: 1, b: 2 }], { columns: ['b'] });
  assert.deepEqual(rows.columns, { b: [2] });
  await assert.rejects(toColumns([{ a: 1 }], { columns: ['q'] }), /unknown column/);
});

test('a column named __proto__ is refused rather than corrupting the table', async () => {
  const rows = JSON.parse('[{"__proto__": 1}]') as Record<string, unknown>[];
  await assert.rejects(toColumns(rows), /__proto__/);
});
