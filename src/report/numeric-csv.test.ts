import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { toColumns } from '../data/tabular.ts';
import { coerceValue, MISSING } from '../stats/values.ts';
import { parseCell, readNumericCsv } from './numeric-csv.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mw-numcsv-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, text);
  return p;
}

/** The fast reader reads what the general reader reads: numbers equal, missing as NaN. */
async function sameAsGeneral(p: string, chunkSize?: number): Promise<void> {
  const fast = await readNumericCsv(p, chunkSize ? { chunkSize } : {});
  assert.ok(fast, 'fast path taken');
  const general = await toColumns({ path: p });
  assert.deepEqual(fast.names, general.names);
  assert.equal(fast.rowCount, general.rowCount);
  for (const name of general.names) {
    const g = general.columns[name] as unknown[];
    const f = fast.columns[name] as Float64Array;
    for (let i = 0; i < g.length; i++) {
      const c = coerceValue(g[i]);
      if (c === MISSING) assert.ok(Number.isNaN(f[i]), `${name}[${i}]: ${String(g[i])} should be missing, got ${f[i]}`);
      else assert.ok(Object.is(f[i], c), `${name}[${i}]: ${String(g[i])} → ${f[i]} vs ${String(c)}`);
    }
  }
}

test('parseCell equals Number() on many spellings', () => {
  const texts = ['0', '-0', '+0', '1', '-1', '007', '1.', '.5', '-.5', '1e5', '1E-5', '2.5e+3', '123456789012345', '1234567890123456789',
    '0.1', '0.3', '3.14159265358979323846', '1e22', '1e23', '1e-22', '1e-23', '9007199254740993', '4.9e-324', '1.7976931348623157e308',
    '0.000001234', '123.456e-7', '  42  ', '\t-3.5', '99999999999999.9', '0.30000000000000004'];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 48271) % 2147483647;
    const mant = String(seed).slice(0, 1 + (seed % 17));
    const exp = (seed % 61) - 30;
    texts.push(`${seed % 2 ? '-' : ''}${mant.slice(0, 3)}.${mant.slice(3)}${seed % 3 ? `e${exp}` : ''}`);
  }
  for (const t of texts) {
    const bytes = Buffer.from(t, 'latin1');
    assert.ok(Object.is(parseCell(bytes, 0, bytes.length), Number(t.trim())), t);
  }
  const missing = ['', '  ', 'NA', 'nan', 'NaN', 'null', 'inf', '-Infinity', '1e400', '-1e999'];
  for (const t of missing) {
    const bytes = Buffer.from(t, 'latin1');
    assert.ok(Number.isNaN(parseCell(bytes, 0, bytes.length)), t);
  }
});

test('numeric CSV: CRLF, BOM, empty cells, NA tokens, no final newline, blank lines', async () => {
  const p = await file('a.csv', '\ufeffa,b,,c\r\n1,2.5,3,-4e-3\r\n,NA,nan,inf\r\n\r\n7,8,9,10\r\n-0,  11 ,1e400,.5');
  await sameAsGeneral(p);
  const r = await readNumericCsv(p);
  assert.deepEqual(r?.names, ['a', 'b', 'Unnamed: 2', 'c']);
  assert.equal(r?.rowCount, 4);
});

test('numeric CSV across chunk boundaries (tiny chunks) equals the general reader', async () => {
  const lines = ['x,y,z'];
  for (let i = 0; i < 3000; i++) lines.push(`${(i * 0.37).toFixed(i % 7)},${i % 13 === 0 ? '' : -i},${Math.sin(i)}`);
  const p = await file('b.csv', `${lines.join('\n')}\n`);
  await sameAsGeneral(p, 1000);
  await sameAsGeneral(p);
});

test('falls back (undefined) on text, quotes, ragged rows or duplicate names', async () => {
  assert.equal(await readNumericCsv(await file('t.csv', 'a,b\n1,x\n')), undefined);
  assert.equal(await readNumericCsv(await file('q.csv', 'a,b\n1,"2"\n')), undefined);
  assert.equal(await readNumericCsv(await file('r.csv', 'a,b\n1,2,3\n')), undefined);
  assert.equal(await readNumericCsv(await file('s.csv', 'a,b\n1\n')), undefined);
  assert.equal(await readNumericCsv(await file('d.csv', 'a,a\n1,2\n')), undefined);
  assert.equal(await readNumericCsv(await file('h.csv', '"a",b\n1,2\n')), undefined);
});

test('a header only gives zero rows', async () => {
  const r = await readNumericCsv(await file('e.csv', 'a,b\n'));
  assert.equal(r?.rowCount, 0);
  assert.deepEqual(r?.names, ['a', 'b']);
});
