import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { runTsdbContract } from '../../test/contract/tsdb.case.ts';
import { openTsdb } from './connect.ts';
import type { KyselyTsdb } from './kysely-tsdb.ts';
import type { Tsdb } from './tsdb-port.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-tsdb-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A SQLite file tsdb whose ingest batches go to its writer thread from the first one on. */
async function withThread(url: string): Promise<Tsdb> {
  const tsdb = await openTsdb(url, { writerThread: true });
  assert.equal(await (tsdb as KyselyTsdb).ingestThreadStarted(), true, 'the writer thread runs');
  return tsdb;
}

runTsdbContract('sqlite (ingest on the writer thread)', () => withThread(`sqlite://${path.join(dir, `tsdb-${++n}.db`)}`), { openSame: withThread });
runTsdbContract('sqlite (ingest on the calling thread)', () => openTsdb(`sqlite://${path.join(dir, `tsdb-${++n}.db`)}`, { writerThread: false }), {
  openSame: (url) => openTsdb(url, { writerThread: false }),
});
