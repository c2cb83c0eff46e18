import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parquetMetadataAsync, parquetSchema, asyncBufferFromFile } from 'hyparquet';
import { dataDriftReport } from '../report/data-drift-report.ts';
import { parquetTypeOf, writeParquetTable } from './parquet-table.ts';
import { toColumns, type Table } from './tabular.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mw-parquet-table-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

/** Cells compared with Object.is, so that -0, NaN and null vs undefined count. */
function assertSameCells(got: Table, want: Table): void {
  assert.deepEqual(got.names, want.names);
  assert.equal(got.rowCount, want.rowCount);
  for (const n of want.names) {
    const g = got.columns[n] as unknown[];
    const w = want.columns[n] as unknown[];
    assert.equal(g.length, w.length, n);
    for (let i = 0; i < w.length; i++) {
      const same = typeof w[i] === 'object' && w[i] !== null ? JSON.stringify(g[i]) === JSON.stringify(w[i]) : Object.is(g[i], w[i]);
      assert.ok(same, `${n}[${i}]: wrote ${String(w[i])} (${typeof w[i]}), read ${String(g[i])} (${typeof g[i]})`);
    }
  }
}

test('strings, integers, floats and nulls come back as they were written', async () => {
  const n = 300;
  const table: Table = {
    names: ['origin', 'cylinders', 'horsepower', 'ratio', 'code', 'flag', 'empty', '2020', 'mixed'],
    columns: {
      // Strings with missing values, the empty string (not missing for the file), numeric-looking text and unicode.
      origin: Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : i % 17 === 0 ? '' : ['USA', 'Europe', 'Japan', 'Zürich', '007'][i % 5])),
      cylinders: Array.from({ length: n }, (_, i) => [4, 6, 8, 3, 5][i % 5]),
      horsepower: Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : 46 + ((i * 37) % 184))),
      // Floats that need all 17 digits, huge and tiny magnitudes, -0, NaN and ±Infinity.
      ratio: Array.from({ length: n }, (_, i) => [0.1 + 0.2, 1 / 3, -0, Number.NaN, Infinity, -Infinity, 1e300, 5e-324, null, Math.PI * i][i % 10]),
      code: Array.from({ length: n }, (_, i) => (i % 2 === 0 ? String(i) : null)),
      flag: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : i % 3 === 0)),
      empty: Array.from({ length: n }, () => null),
      '2020': Array.from({ length: n }, (_, i) => i * 0.5),
      // Numbers and text in one column (a CSV cell 'NA' among numbers): kept as JSON text.
      mixed: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? 'NA' : i % 10 === 0 ? null : i)),
    },
    rowCount: n,
  };
  const file = path.join(dir, 'mixed.parquet');
  await writeParquetTable(file, table);
  const back = await toColumns({ path: file });
  assertSameCells(back, table);
  assert.deepEqual(await readdir(dir), ['mixed.parquet'], 'no temporary file left beside it');

  const schema = parquetSchema(await parquetMetadataAsync(await asyncBufferFromFile(file))).children.map((c) => [c.element.name, c.element.type, c.element.converted_type]);
  assert.deepEqual(schema, [
    ['origin', 'BYTE_ARRAY', 'UTF8'],
    ['cylinders', 'DOUBLE', undefined],
    ['horsepower', 'DOUBLE', undefined],
    ['ratio', 'DOUBLE', undefined],
    ['code', 'BYTE_ARRAY', 'UTF8'],
    ['flag', 'BOOLEAN', undefined],
    ['empty', 'BYTE_ARRAY', 'UTF8'],
    ['2020', 'DOUBLE', undefined],
    ['mixed', 'BYTE_ARRAY', 'JSON'],
  ]);

  // What the round trip is for: the report on the file is the report on the table.
  const current: Table = { ...table, columns: { ...table.columns, horsepower: (table.columns.horsepower as (number | null)[]).map((v) => (v === null ? v : v + 20)) } };
  const ref = dataDriftReport(table, current);
  assert.deepEqual(dataDriftReport(back, current), ref);
  assert.ok(ref.columns.horsepower?.drifted, 'the comparison sees something');
  const missing = (table.columns.origin as unknown[]).filter((v) => v === null || v === '').length;
  assert.deepEqual(ref.columns.origin?.missing, { reference: missing, current: missing }, 'nulls and empty strings both missing for the report');
});

test('column types: one kind of cell, or JSON', () => {
  assert.equal(parquetTypeOf([1, null, 2.5, Number.NaN]), 'DOUBLE');
  assert.equal(parquetTypeOf(['a', null]), 'STRING');
  assert.equal(parquetTypeOf([null, null]), 'STRING');
  assert.equal(parquetTypeOf([true, null, false]), 'BOOLEAN');
  assert.equal(parquetTypeOf([new Date(0), null]), 'TIMESTAMP');
  assert.equal(parquetTypeOf([1, 'a']), 'JSON');
  assert.equal(parquetTypeOf([{ a: 1 }]), 'JSON');
  assert.equal(parquetTypeOf([true, 1]), 'JSON');
});

test('dates and objects round-trip; a file that cannot be written leaves nothing behind', async () => {
  const table: Table = {
    names: ['when', 'tags'],
    columns: { when: [new Date(Date.UTC(2026, 0, 1)), null, new Date(1)], tags: [['a', 'b'], { k: 1 }, null] },
    rowCount: 3,
  };
  const file = path.join(dir, 'dates.parquet');
  await writeParquetTable(file, table);
  const back = await toColumns({ path: file });
  assert.deepEqual(back.columns.when, table.columns.when);
  assert.deepEqual(back.columns.tags, table.columns.tags);
  const bad = path.join(dir, 'bad.parquet');
  await assert.rejects(writeParquetTable(bad, { names: ['d'], columns: { d: [new Date(Number.NaN)] }, rowCount: 1 }), /invalid date/);
  assert.ok(!(await readdir(dir)).some((f) => f.startsWith('bad.parquet')));
});
