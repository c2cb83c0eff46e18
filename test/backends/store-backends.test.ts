import { after, describe, it } from 'node:test';
import { openStore, openTsdb } from '../../src/store/connect.ts';
import { runStoreContract } from '../contract/store.case.ts';
import { runTsdbContract } from '../contract/tsdb.case.ts';
import { FreshDatabases, selectedBackends, unavailableReason } from './servers.ts';

/*
 * The store and tsdb contracts on every SQL backend named by MODELWATCH_TEST_BACKENDS (default:
 * sqlite, postgres, mysql), each case in a database of its own that is dropped at the end. A
 * backend whose server does not answer is reported as skipped, with the reason.
 *
 * A second handle on one database ("another process") opens the same URL with another pool size,
 * so that it gets a connection pool of its own rather than sharing the first handle's.
 */
const secondPool = (url: string): string => (url.startsWith('sqlite:') ? url : `${url}${url.includes('?') ? '&' : '?'}pool=3`);

for (const backend of selectedBackends()) {
  const reason = await unavailableReason(backend);
  if (reason !== undefined) {
    describe(`Store and Tsdb contracts: ${backend}`, () => {
      it('runs the contracts', { skip: reason }, () => undefined);
    });
    continue;
  }
  const dbs = new FreshDatabases(backend);
  after(() => dbs.dropAll());
  runStoreContract(backend, async () => openStore(await dbs.create()), { openSame: (url) => openStore(secondPool(url)) });
  runTsdbContract(backend, async () => openTsdb(await dbs.create()), { openSame: (url) => openTsdb(secondPool(url)) });
}
