import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore, openTsdb } from '../../src/store/connect.ts';
import { FreshDatabases, selectedBackends, unavailableReason } from './servers.ts';

/*
 * Several processes on one fresh server database: they migrate at the same moment (the advisory
 * lock lets one build the schema while the others wait) and then race for one lease.
 * SQLite runs the same race in `src/store/kysely-store.test.ts`.
 */
const fixture = fileURLToPath(new URL('../../src/store/sqlite/lease-race.fixture.ts', import.meta.url));

function race(url: string, processes: number): Promise<boolean[]> {
  const at = Date.now() + 1500;
  return Promise.all(
    Array.from(
      { length: processes },
      (_, i) =>
        new Promise<boolean>((resolve, reject) => {
          const child = fork(fixture, [url, `proc-${i}`, String(at)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
          child.on('message', (m) => resolve((m as { won: boolean }).won));
          child.on('error', reject);
          child.on('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
        }),
    ),
  );
}

for (const backend of selectedBackends().filter((b) => b !== 'sqlite')) {
  const reason = await unavailableReason(backend);
  describe(`${backend}: several processes on one database`, () => {
    const dbs = new FreshDatabases(backend);
    after(() => dbs.dropAll());

    it('migrate at once and let exactly one of them win a lease', { skip: reason }, async () => {
      const url = await dbs.create();
      const wins = await race(url, 6);
      assert.equal(wins.filter(Boolean).length, 1);
      const store = await openStore(url, { migrate: true });
      const tsdb = await openTsdb(url, { migrate: true });
      try {
        assert.equal(await store.acquireLease('race', 'parent', 1000, Date.now()), false, 'the winner still holds it');
        assert.equal(await tsdb.countPredictions('p', 'e', { start: 0, end: 1 }), 0, 'the tsdb tables exist');
      } finally {
        await tsdb.close();
        await store.close();
      }
    });
  });
}
