import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import mysql from 'mysql2';
import { selectedBackends, serverUrl } from '../../../test/backends/servers.ts';
import { formatQuery, mysqlPoolOptions, openMysqlDatabase } from './open.ts';

describe('MySQL query formatting', () => {
  it('formats values as mysql2 does, and sends a query without values as it is', () => {
    const cases: [string, unknown][] = [
      ['select ?', []],
      ["select '?', `?`, ? -- ?", []],
      ['select 1', undefined],
      ['select ?, ?', [1, "it's"]],
      ['select ?? from t where a = ?', ['col', 'x\\y']],
      ['insert into t values ?', [[[1, 'a'], [2, null]]]],
      ['select ?', [new Date(Date.UTC(2026, 10, 27, 12, 0, 0, 250))]],
      ["select '?' , ?", ['after quoted']],
      ['select ?', 'one value'],
    ];
    for (const [text, values] of cases) {
      for (const timezone of ['Z', 'local', '+02:00']) {
        const expected = mysql.format(text, values as never, false, timezone as never);
        assert.equal(formatQuery.call({ config: { stringifyObjects: false } }, text, values, timezone), expected, `${text} ${JSON.stringify(values)} ${timezone}`);
      }
    }
    const objects = mysql.format('select ?', [{ a: 1 }] as never, true, 'Z' as never);
    assert.equal(formatQuery.call({ config: { stringifyObjects: true } }, 'select ?', [{ a: 1 }], 'Z'), objects);
    assert.equal(mysqlPoolOptions('mysql://root@127.0.0.1:3306/test').queryFormat, formatQuery);
  });

  it('runs statements with and without values on a real server', { skip: !selectedBackends().includes('mysql') && 'MySQL not selected' }, async () => {
    const db = openMysqlDatabase(serverUrl('mysql'));
    try {
      const withValues = await sql<{ a: number; b: string; c: string }>`select ${41} + 1 as a, ${"it's ?"} as b, ${'back\\slash'} as c`.execute(db);
      assert.deepEqual(withValues.rows, [{ a: 42, b: "it's ?", c: 'back\\slash' }]);
      const without = await sql<{ q: string }>`select ${sql.raw("'what?' as q")}`.execute(db);
      assert.deepEqual(without.rows, [{ q: 'what?' }]);
    } finally {
      await db.destroy();
    }
  });
});
