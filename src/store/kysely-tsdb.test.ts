import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { runTsdbContract } from '../../test/contract/tsdb.case.ts';
import { openTsdb } from './connect.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-tsdb-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

runTsdbContract('sqlite', () => openTsdb(`sqlite://${path.join(dir, `tsdb-${++n}.db`)}`), { openSame: (url) => openTsdb(url) });
