import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ValidationError } from '../common/errors.ts';
import { openStream } from './connect.ts';
import { DEFAULT_STREAM_RETENTION_HOURS, resolveStreamRetentionHours } from './retention.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-stream-retention-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('stream retention', () => {
  it('takes the hours from the option, else MODELWATCH_STREAM_RETENTION_HOURS, else 24; 0 keeps everything', () => {
    assert.equal(resolveStreamRetentionHours(undefined, {}), DEFAULT_STREAM_RETENTION_HOURS);
    assert.equal(DEFAULT_STREAM_RETENTION_HOURS, 24);
    assert.equal(resolveStreamRetentionHours(undefined, { MODELWATCH_STREAM_RETENTION_HOURS: '2.5' }), 2.5);
    assert.equal(resolveStreamRetentionHours(6, { MODELWATCH_STREAM_RETENTION_HOURS: '2' }), 6);
    assert.equal(resolveStreamRetentionHours(undefined, { MODELWATCH_STREAM_RETENTION_HOURS: '0' }), undefined);
    assert.equal(resolveStreamRetentionHours(undefined, { MODELWATCH_STREAM_RETENTION_HOURS: ' ' }), 24);
    assert.throws(() => resolveStreamRetentionHours(undefined, { MODELWATCH_STREAM_RETENTION_HOURS: 'a day' }), ValidationError);
    assert.throws(() => resolveStreamRetentionHours(-1, {}), ValidationError);
  });

  it('truncates the embedded log in the background once events are acknowledged, and stops at close', async () => {
    const file = path.join(root, 'bg', 'stream.db');
    const s = await openStream(`embedded://${file}`, { home: root, retention: { keepMs: 0, intervalMs: 25 } });
    for (let i = 0; i < 5; i++) await s.publish('t', [{ key: 'k', value: `m${i}` }]);
    const sub = await s.subscribe('t', 'g');
    const got = await sub.fetch(5, 1000);
    assert.equal(got.length, 5);
    const events = () => {
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        return (db.prepare('SELECT COALESCE(SUM(n), 0) AS n FROM log').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(events(), 5, 'nothing goes before it is acknowledged');
    await sub.ack(got.slice(0, 3));
    const until = Date.now() + 3000;
    while (events() > 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(events(), 2, 'the acknowledged events went');
    await sub.close();
    await s.close();
  });
});
