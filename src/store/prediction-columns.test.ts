import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyColumnRow, PredictionColumns, predictionRows } from './prediction-columns.ts';
import type { PredictionRow } from './tsdb-port.ts';

/** Rows over two projects and three endpoints, with texts of every kind: empty, non-ASCII, labels or none. */
function sampleRows(n: number): PredictionRow[] {
  return Array.from({ length: n }, (_, i) => ({
    project: i % 7 === 0 ? 'other' : 'p1',
    endpointId: `ep${i % 3}`,
    time: 1_700_000_000_000 + i * 10,
    latencyUs: 100 + i + 0.4,
    requestId: i % 11 === 0 ? '' : `req-${i}-ü`,
    rowIndex: i % 2,
    features: [i, i / 3, null],
    outputs: i % 5 === 0 ? [] : [`class-${i % 4}`],
    labels: i % 4 === 0 ? { team: 'a', id: String(i) } : null,
  }));
}

describe('prediction columns', () => {
  it('give back every row as it was added, across many joined chunks of text', () => {
    const rows = sampleRows(1000);
    const c = PredictionColumns.fromRows(rows);
    assert.equal(c.length, 1000);
    const back = predictionRows(c);
    assert.equal(back.length, rows.length);
    rows.forEach((p, i) => {
      const q = back[i]!;
      assert.deepEqual(
        [q.project, q.endpointId, q.time, q.latencyUs, q.requestId, q.rowIndex, q.featuresJson, q.outputsJson, q.labels],
        [p.project, p.endpointId, p.time, Math.round(p.latencyUs), p.requestId, p.rowIndex, JSON.stringify(p.features), JSON.stringify(p.outputs), p.labels],
        `row ${i}`,
      );
    });
  });

  it('survive packing (as posted to a thread) unchanged, and give the table rows the INSERT stores', () => {
    const rows = sampleRows(300);
    const c = new PredictionColumns(4); // grows as rows come
    for (const p of rows) {
      c.add(p.project, p.endpointId, p.time, p.latencyUs, p.requestId, p.rowIndex, JSON.stringify(p.features), JSON.stringify(p.outputs), p.labels ? JSON.stringify(p.labels) : null);
    }
    const packed = structuredClone(c.packed());
    assert.equal(packed.projects.length, 2);
    assert.equal(packed.endpoints.length, 3);
    assert.ok(packed.text.length >= 2, 'the texts are joined in chunks');
    const again = PredictionColumns.fromPacked(packed).toInsertRows();
    assert.deepEqual(again, c.toInsertRows());
    assert.deepEqual(again[4], {
      project: 'p1',
      endpoint_id: 'ep1',
      time: rows[4]!.time,
      latency_us: 104,
      request_id: 'req-4-ü',
      row_index: 0,
      features: JSON.stringify(rows[4]!.features),
      outputs: JSON.stringify(rows[4]!.outputs),
      labels: JSON.stringify(rows[4]!.labels),
    });
  });

  it('hold no rows when none are added', () => {
    const c = new PredictionColumns();
    assert.equal(c.length, 0);
    assert.deepEqual(c.toRows(), []);
    assert.equal(PredictionColumns.fromPacked(c.packed()).length, 0);
  });

  it('refuse packed data that does not add up, naming what is wrong', () => {
    const packed = PredictionColumns.fromRows(sampleRows(20)).packed();
    assert.throws(() => PredictionColumns.fromPacked({ ...packed, rows: 21 }), /wrong length/);
    assert.throws(() => PredictionColumns.fromPacked({ ...packed, text: [...packed.text, 'extra'] }), /characters of text/);
    const nums = packed.nums.slice();
    nums[1] = 9; // endpoint index of row 0
    assert.throws(() => PredictionColumns.fromPacked({ ...packed, nums }), /not listed/);
  });

  it('read through a cursor, row by row, telling which rows hold no special character', () => {
    // 600 rows: three joined chunks of text; a tab only in row 300's request id (the second chunk).
    const rows = sampleRows(600).map((r, i) => (i === 300 ? { ...r, requestId: 'a\tb' } : r));
    const c = PredictionColumns.fromRows(rows);
    const cursor = c.cursor(/\t/);
    const row = emptyColumnRow();
    const plain: boolean[] = [];
    const ids: string[] = [];
    while (cursor.next(row)) {
      plain.push(cursor.plain);
      ids.push(row.requestId);
    }
    assert.deepEqual(ids, rows.map((r) => r.requestId));
    // Plain is vouched for per chunk of 256 rows: the chunk holding row 300 (rows 256-511) is not.
    assert.deepEqual(
      plain.map((p, i) => [i, p]).filter(([, p]) => !p).map(([i]) => i),
      Array.from({ length: 256 }, (_, k) => 256 + k),
    );
    // Without a pattern nothing is vouched for; a finished cursor stays finished.
    const bare = c.cursor();
    assert.equal(bare.next(row), true);
    assert.equal(bare.plain, false);
    assert.equal(cursor.next(row), false);
  });

  it('give each row\'s time and latency without reading texts', () => {
    const rows = sampleRows(40);
    const seen: [string, string, number, number][] = [];
    PredictionColumns.fromRows(rows).forEachScalar((p, e, t, l) => seen.push([p, e, t, l]));
    assert.deepEqual(seen, rows.map((r) => [r.project, r.endpointId, r.time, Math.round(r.latencyUs)]));
  });
});
