import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runStoreContract } from '../../test/contract/store.case.ts';
import { ValidationError } from '../common/errors.ts';
import { BackendUnreachableError, openStore, openTsdb, parseConnectionUrl } from './connect.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-store-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshUrl = () => `sqlite://${path.join(dir, `store-${++n}.db`)}`;

runStoreContract('sqlite', () => openStore(freshUrl()), { openSame: (url) => openStore(url) });

describe('SQLite store', () => {
  it('shares one database between a store and a tsdb on the same file', async () => {
    const url = freshUrl();
    const store = await openStore(url, { migrate: true });
    const tsdb = await openTsdb(url.replace('sqlite://', ''));
    await tsdb.migrate();
    await store.setLastAnalyzed('p', 'e', 'a', 5);
    await store.close();
    await store.close(); // a second close gives nothing back twice
    assert.equal(await tsdb.getCheckpoint('c', 0), undefined, 'the tsdb still works after the store closed');
    await tsdb.close();
    const reopened = await openStore(url);
    assert.equal(await reopened.getLastAnalyzed('p', 'e', 'a'), 5);
    await reopened.close();
  });

  it('resolves relative paths against home and creates the folder', async () => {
    const home = path.join(dir, 'home', 'nested');
    const store = await openStore('sqlite:data/x.db', { home, migrate: true });
    assert.ok(fs.existsSync(path.join(home, 'data', 'x.db')));
    await store.close();
  });

  it('migrates from several processes at once and lets exactly one of them win a lease', async () => {
    const url = freshUrl();
    const fixture = fileURLToPath(new URL('./sqlite/lease-race.fixture.ts', import.meta.url));
    const at = Date.now() + 500;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        new Promise<boolean>((resolve, reject) => {
          const child = fork(fixture, [url, `proc-${i}`, String(at)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
          child.on('message', (m) => resolve((m as { won: boolean }).won));
          child.on('error', reject);
          child.on('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
        }),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1);
    const s = await openStore(url, { migrate: true });
    assert.equal(await s.acquireLease('race', 'parent', 1000, Date.now()), false);
    await s.close();
  });
});

describe('parseConnectionUrl', () => {
  it('names the backend of each URL form', () => {
    assert.deepEqual(parseConnectionUrl('sqlite:///abs/x.db', 'store'), { scheme: 'sqlite', available: true, path: '/abs/x.db' });
    assert.deepEqual(parseConnectionUrl('sqlite:rel.db', 'tsdb'), { scheme: 'sqlite', available: true, path: 'rel.db' });
    assert.deepEqual(parseConnectionUrl('./plain.db', 'store'), { scheme: 'sqlite', available: true, path: './plain.db' });
    assert.deepEqual(parseConnectionUrl('postgresql://u:p@db:5432/mw', 'tsdb'), { scheme: 'postgres', available: true });
    assert.deepEqual(parseConnectionUrl('mysql://db/mw', 'store'), { scheme: 'mysql', available: true });
    assert.deepEqual(parseConnectionUrl('mariadb://db/mw?pool=4', 'store'), { scheme: 'mysql', available: true });
    assert.deepEqual(parseConnectionUrl('', 'stream'), { scheme: 'embedded', available: true });
    assert.deepEqual(parseConnectionUrl('embedded://', 'stream'), { scheme: 'embedded', available: true });
    assert.deepEqual(parseConnectionUrl('embedded:///h/stream.db', 'stream'), { scheme: 'embedded', available: true, path: '/h/stream.db' });
    assert.deepEqual(parseConnectionUrl('nats://localhost:4222', 'stream'), { scheme: 'nats', available: true });
    assert.deepEqual(parseConnectionUrl('kafka://b1:9092,b2:9092', 'stream'), { scheme: 'kafka', available: true });
  });

  it('rejects malformed URLs and schemes of another role without leaking passwords', () => {
    for (const [url, what] of [
      ['redis://h', 'store'],
      ['nats://h:4222', 'store'],
      ['postgres://', 'store'],
      ['postgres:///db', 'tsdb'],
      ['embedded://', 'tsdb'],
      ['', 'store'],
      ['sqlite://', 'store'],
      ['sqlite:///x.db?mode=ro', 'store'],
      ['kafka:', 'stream'],
    ] as const) {
      assert.throws(() => parseConnectionUrl(url, what), ValidationError, `${url} as ${what}`);
    }
    assert.throws(
      () => parseConnectionUrl('postgres://user:hunter2@', 'store'),
      (e: Error) => e instanceof ValidationError && !e.message.includes('hunter2'),
    );
    // libpq's keyword=value form is no file name: refused, its password not repeated.
    for (const text of ['host=db password=hunter2 dbname=x', "user=mw password='hunter2 x' host=db"]) {
      assert.throws(
        () => parseConnectionUrl(text, 'tsdb'),
        (e: Error) => e instanceof ValidationError && /keyword=value/.test(e.message) && !e.message.includes('hunter2'),
      );
    }
  });

  it('reports a server that does not answer without its password', async () => {
    // Port 1 on localhost: nothing listens, the connection is refused at once.
    for (const url of ['postgres://u:hunter2@127.0.0.1:1/mw', 'mysql://u:hunter2@127.0.0.1:1/mw']) {
      await assert.rejects(
        openStore(url),
        (e: Error) => e instanceof BackendUnreachableError && e.message.includes('u:***@') && !e.message.includes('hunter2'),
      );
    }
    await assert.rejects(openTsdb('postgres://127.0.0.1:1/mw?pool=0'), ValidationError);
  });
});
