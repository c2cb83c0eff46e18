// Runs every *.test.ts under src/ and test/ (but test/soak/) with node's test runner (the file list is passed
// explicitly, as node:test wants). Extra arguments are passed on (e.g. a file filter). Afterwards
// it lists the tests that were skipped (a server not reachable here, a Kafka broker not named) and
// why; MODELWATCH_TEST_REQUIRE_SERVERS=1 (set by .ci/run) makes a missing PostgreSQL, MariaDB or
// NATS server fail the run instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// `--soak`: the long tests under test/soak/ (crash, outage and load runs; `npm run test:soak`),
// which `npm test` leaves out.
const soak = process.argv.includes('--soak');
const filter = process.argv.slice(2).filter((a) => a !== '--soak');
const SOAK_DIR = `test${path.sep}soak${path.sep}`;
let files = [...find('src'), ...find('test')].sort().filter((f) => f.startsWith(SOAK_DIR) === soak);
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  if (soak && filter.length === 0) {
    console.log('no soak tests under test/soak/');
    process.exit(0);
  }
  console.error('no test files matched');
  process.exit(1);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mw-tests-'));
const skipsFile = path.join(tmp, 'skipped.jsonl');
const skipReporter = fileURLToPath(new URL('./skip-reporter.mjs', import.meta.url));
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${skipReporter}`, `--test-reporter-destination=${skipsFile}`, ...files],
  { stdio: 'inherit', env: { ...process.env, MODELWATCH_LOG_LEVEL: process.env.MODELWATCH_LOG_LEVEL ?? 'silent' } },
);
printSkipped(skipsFile);
rmSync(tmp, { recursive: true, force: true });
process.exit(r.status ?? 1);

/** Prints the skipped tests grouped by reason, with the files they are in. */
function printSkipped(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // the runner wrote nothing (it did not start)
  }
  const byReason = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { file: f, reason } = JSON.parse(line);
    const entry = byReason.get(reason) ?? { count: 0, files: new Set() };
    entry.count++;
    if (f) entry.files.add(path.relative(process.cwd(), f.startsWith('file:') ? fileURLToPath(f) : f));
    byReason.set(reason, entry);
  }
  if (byReason.size === 0) {
    console.log('\nskipped: none');
    return;
  }
  const total = [...byReason.values()].reduce((n, e) => n + e.count, 0);
  console.log(`\nskipped: ${total} test${total === 1 ? '' : 's'} did not run here (not failures):`);
  for (const [reason, e] of byReason) console.log(`  - ${e.count} × ${reason}\n      in ${[...e.files].join(', ')}`);
}
