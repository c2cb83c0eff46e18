import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PredictionColumns } from '../prediction-columns.ts';
import type { PredictionRow } from '../tsdb-port.ts';
import { copyText } from './copy.ts';
import { copyPieces } from './insert-predictions.ts';
import { PREDICTION_COLUMN_TYPES } from './unnest-insert.ts';

const COLUMNS = Object.keys(PREDICTION_COLUMN_TYPES);

/** Rows whose texts hold, now and then, every character COPY escapes (and plain chunks between). */
function rows(n: number): PredictionRow[] {
  const odd = ['tab\there', 'line\nbreak', 'back\\slash', 'cr\rlf'];
  return Array.from({ length: n }, (_, i) => ({
    project: 'p1',
    endpointId: i % 3 === 0 ? 'ep\t0' : `ep${i % 3}`,
    time: 1_700_000_000_000 + i,
    latencyUs: 50 + (i % 7),
    requestId: i % 301 === 5 ? odd[i % 4]! : `req-${i}`,
    rowIndex: i % 2,
    features: i % 401 === 9 ? [odd[(i + 1) % 4]!, i] : [i, i / 7],
    outputs: [i % 3],
    labels: i % 5 === 0 ? { note: i % 2 ? odd[i % 4]! : 'plain' } : null,
  }));
}

describe('COPY text of prediction columns', () => {
  it('is the COPY text of the same rows, escaped where needed, in pieces of whole lines', () => {
    const c = PredictionColumns.fromRows(rows(1500));
    const pieces = [...copyPieces(c)];
    assert.equal(pieces.length, 3); // 512 rows a piece
    for (const p of pieces) assert.ok(p.endsWith('\n'));
    const expected = [...copyText(COLUMNS, c.toInsertRows()).pieces].join('');
    assert.equal(pieces.join(''), expected);
    assert.equal(expected.split('\n').length - 1, 1500);
    assert.ok(expected.includes('tab\\there') && expected.includes('ep\\t0') && expected.includes('\\\\'), 'escapes present');
  });

  it('is nothing for no rows', () => {
    assert.deepEqual([...copyPieces(new PredictionColumns())], []);
  });
});
