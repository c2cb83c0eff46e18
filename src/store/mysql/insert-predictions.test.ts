import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mysql from 'mysql2';
import { MYSQL_TRAITS } from '../dialect.ts';
import { PredictionColumns } from '../prediction-columns.ts';
import type { PredictionRow } from '../tsdb-port.ts';
import { mysqlString, valuesStatements } from './insert-predictions.ts';

const COLUMNS = ['project', 'endpoint_id', 'time', 'latency_us', 'request_id', 'row_index', 'features', 'outputs', 'labels'] as const;
const HEAD = `insert into predictions (${COLUMNS.map((c) => `\`${c}\``).join(', ')}) values `;

/** Rows whose texts hold, now and then, every character MySQL escapes and characters past ASCII (and plain chunks between). */
function rows(n: number): PredictionRow[] {
  const odd = ["quo'te", 'dq"uote', 'back\\slash', 'nul\0', 'bs\b', 'tab\t', 'nl\n', 'cr\r', 'sub\x1a', 'ünï ✓ 😀'];
  return Array.from({ length: n }, (_, i) => ({
    project: 'p1',
    endpointId: i % 3 === 0 ? "ep'0 é" : `ep${i % 3}`,
    time: 1_700_000_000_000 + i + (i % 4 === 0 ? 0.25 : 0),
    latencyUs: 50 + (i % 7),
    requestId: i % 301 === 5 ? odd[i % odd.length]! : `req-${i}`,
    rowIndex: i % 2,
    features: i % 401 === 9 ? [odd[(i + 1) % odd.length]!, i] : [i, i / 7],
    outputs: [i % 3],
    labels: i % 5 === 0 ? { note: i % 2 ? odd[i % odd.length]! : 'plain' } : null,
  }));
}

/** The tuple mysql2 writes for a row (its escaping, our separators). */
const expectedTuple = (r: Record<string, unknown>): string => `(${COLUMNS.map((c) => mysql.escape((r[c] ?? null) as string | number | null)).join(',')})`;

describe('MySQL statements of prediction columns', () => {
  it('escapes strings as mysql2 does', () => {
    for (const s of ['', 'plain', "it's", 'a"b', 'back\\slash\\', '\0\b\t\n\r\x1a', 'ünï ✓ 😀', "'; drop table predictions; --"]) {
      assert.equal(mysqlString(s), mysql.escape(s), JSON.stringify(s));
    }
  });

  it('writes every row as mysql2 escapes its values, in order, escaped only where needed', () => {
    const c = PredictionColumns.fromRows(rows(1500));
    const statements = [...valuesStatements(c)];
    assert.equal(statements.length, 1);
    const expected = HEAD + c.toInsertRows().map((r) => expectedTuple(r)).join(',');
    assert.equal(statements[0]!.sql, expected);
    assert.equal(statements[0]!.rows, 1500);
    assert.ok(expected.includes("\\'") && expected.includes('\\Z') && expected.includes('😀'), 'escapes present');
  });

  it('cuts statements at the parameter count and the statement bytes', () => {
    const c = PredictionColumns.fromRows(rows(700));
    const all = c.toInsertRows().map((r) => expectedTuple(r));
    for (const traits of [{ ...MYSQL_TRAITS, maxParams: 9 * 64 }, { ...MYSQL_TRAITS, maxStatementBytes: 20_000 }]) {
      const statements = [...valuesStatements(c, traits)];
      assert.ok(statements.length > 1, `${statements.length} statements`);
      for (const s of statements) {
        assert.ok(s.rows <= Math.floor(traits.maxParams / 9), `${s.rows} rows`);
        assert.ok(Buffer.byteLength(s.sql) <= traits.maxStatementBytes!, `${Buffer.byteLength(s.sql)} bytes`);
      }
      assert.equal(statements.map((s) => s.sql.slice(HEAD.length)).join(','), all.join(','));
    }
  });

  it('is nothing for no rows', () => {
    assert.deepEqual([...valuesStatements(new PredictionColumns())], []);
  });
});
