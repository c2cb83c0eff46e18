import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import { runCli as cli, type CliRun as Run } from '../../test/server/helpers.ts';
import type { DataDriftReport } from './types.ts';



function ok(r: Run): Run {
  assert.equal(r.code, 0, `exit ${String(r.code)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Deterministic rows: x numeric (shifted in current), k integer 0..3, c categorical, some missing x. */
function rows(n: number, shift: number): { x: number | null; k: number; c: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    x: i % 17 === 0 ? null : Math.round((Math.sin(i * 12.9898) * 43758.5453 % 1) * 1000) / 100 + shift,
    k: (i * 7 + (shift > 0 ? 1 : 0)) % 4,
    c: ['red', 'green', 'blue'][(i * 5) % 3] as string,
  }));
}

function csv(data: ReturnType<typeof rows>): string {
  return `x,k,c\n${data.map((r) => `${r.x ?? ''},${r.k},${r.c}`).join('\n')}\n`;
}

function numericCsv(data: ReturnType<typeof rows>): string {
  return `x,k\n${data.map((r) => `${r.x ?? 'NA'},${r.k}`).join('\n')}\n`;
}

function checkShape(report: DataDriftReport, columns: string[]): void {
  assert.equal(typeof report.datasetDrift, 'boolean');
  assert.equal(typeof report.shareOfDriftedColumns, 'number');
  assert.deepEqual(Object.keys(report.columns), columns);
  for (const c of Object.values(report.columns)) {
    assert.ok(c.columnType === 'numeric' || c.columnType === 'categorical');
    assert.equal(typeof c.method, 'string');
    assert.equal(typeof c.score, 'number');
    assert.equal(typeof c.threshold, 'number');
    assert.equal(typeof c.drifted, 'boolean');
    for (const k of ['tvd', 'hellinger', 'kld'] as const) assert.equal(typeof c.histogram[k], 'number');
  }
}

describe('modelwatch report', { timeout: 120_000 }, () => {
  let dir: string;
  const ref = rows(400, 0);
  const cur = rows(300, 3);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mw-report-cli-'));
    await writeFile(path.join(dir, 'ref.csv'), csv(ref));
    await writeFile(path.join(dir, 'cur.csv'), csv(cur));
    await writeFile(path.join(dir, 'ref-num.csv'), numericCsv(ref));
    await writeFile(path.join(dir, 'cur.jsonl'), `${cur.map((r) => JSON.stringify(r)).join('\n')}\n`);
    parquetWriteFile({
      filename: path.join(dir, 'cur.parquet'),
      columnData: [
        { name: 'x', data: cur.map((r) => r.x), type: 'DOUBLE' },
        { name: 'k', data: cur.map((r) => r.k), type: 'DOUBLE' },
        { name: 'c', data: cur.map((r) => r.c), type: 'STRING' },
      ],
    });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('CSV vs CSV, JSON to stdout: documented shape and default methods', async () => {
    const r = ok(await cli(['report', '--reference', path.join(dir, 'ref.csv'), '--current', path.join(dir, 'cur.csv')]));
    const report = JSON.parse(r.stdout) as DataDriftReport;
    checkShape(report, ['x', 'k', 'c']);
    assert.equal(report.columns.x?.method, 'ks');
    assert.equal(report.columns.x?.drifted, true);
    assert.deepEqual(report.columns.x?.missing, { reference: 24, current: 18 });
    assert.equal(report.columns.k?.method, 'chisquare');
    assert.equal(report.columns.c?.columnType, 'categorical');
  });

  test('CSV vs JSON lines vs Parquet give the same numbers', async () => {
    const out = async (current: string): Promise<DataDriftReport> =>
      JSON.parse(ok(await cli(['report', '--reference', path.join(dir, 'ref.csv'), '--current', path.join(dir, current), '--format', 'json'])).stdout) as DataDriftReport;
    const a = await out('cur.csv');
    const b = await out('cur.jsonl');
    const c = await out('cur.parquet');
    assert.deepEqual(b.columns, a.columns);
    assert.deepEqual(c.columns, a.columns);
  });

  test('numeric fast path (NA tokens) reads like the general reader', async () => {
    const fast = JSON.parse(ok(await cli(['report', '--reference', path.join(dir, 'ref-num.csv'), '--current', path.join(dir, 'cur.jsonl'), '--columns', 'x,k'])).stdout) as DataDriftReport;
    const general = JSON.parse(ok(await cli(['report', '--reference', path.join(dir, 'ref.csv'), '--current', path.join(dir, 'cur.jsonl'), '--columns', 'x,k'])).stdout) as DataDriftReport;
    assert.deepEqual(fast.columns, general.columns);
  });

  test('options: --method, --column-type, --threshold, --columns, --bh, --out', async () => {
    const file = path.join(dir, 'out.json');
    const r = ok(
      await cli([
        'report', '--reference', path.join(dir, 'ref.csv'), '--current', path.join(dir, 'cur.csv'),
        '--method', 'psi', '--column-type', 'k=categorical', '--threshold', '0.5', '--columns', 'x,k', '--bh', '--out', file,
      ]),
    );
    assert.match(r.stderr, /wrote .*out\.json/);
    const report = JSON.parse(await readFile(file, 'utf8')) as DataDriftReport;
    checkShape(report, ['x', 'k']);
    assert.equal(report.columns.x?.method, 'psi');
    assert.equal(report.columns.k?.columnType, 'categorical');
    assert.equal(report.columns.x?.threshold, 0.5);
  });

  test('HTML: self-contained, no external scripts or styles, charts inline', async () => {
    const file = path.join(dir, 'report.html');
    ok(await cli(['report', '--reference', path.join(dir, 'ref.csv'), '--current', path.join(dir, 'cur.parquet'), '--format', 'html', '--out', file]));
    const html = await readFile(file, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<link/i);
    assert.doesNotMatch(html, /https?:/i);
    assert.doesNotMatch(html, /url\(/i);
    assert.equal((html.match(/<svg /g) ?? []).length, 3);
    assert.match(html, /<style>/);
  });

  test('usage errors: unknown method (exit 2), missing file (exit 1)', async () => {
    const bad = await cli(['report', '--reference', path.join(dir, 'ref.csv'), '--current', path.join(dir, 'cur.csv'), '--method', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown drift method/);
    const missing = await cli(['report', '--reference', path.join(dir, 'nope.csv'), '--current', path.join(dir, 'cur.csv')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such file/);
  });
});
