/**
 * Insert rates of 50,000 predictions into one fresh database per backend, by each way of writing
 * them (a benchmark, not a test: `node --import tsx test/backends/ingest-bench.ts [rows] [trials]`,
 * backends from MODELWATCH_TEST_BACKENDS). Each trial starts from an empty table; the median of
 * the trials is printed. On PostgreSQL it compares the multi-row INSERT, `unnest` arrays, COPY into
 * a temp table then INSERT ... SELECT ... ON CONFLICT DO NOTHING, and a bare COPY (the ceiling).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Insertable, type Kysely } from 'kysely';
import copyStreams from 'pg-copy-streams';
import pg from 'pg';
import { openTsdb } from '../../src/store/connect.ts';
import { insertIgnore, POSTGRES_TRAITS } from '../../src/store/dialect.ts';
import { PG_TYPES, postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { PREDICTION_COLUMN_TYPES, unnestInsertIgnore } from '../../src/store/postgres/unnest-insert.ts';
import type { Database } from '../../src/store/schema.ts';
import type { PredictionRow } from '../../src/store/tsdb-port.ts';
import { predictionToRow } from '../../src/store/tsdb-rows.ts';
import { FreshDatabases, selectedBackends, unavailableReason } from './servers.ts';

type Row = Insertable<Database['predictions']>;
const ROWS = Number(process.argv[2] ?? 50_000);
const TRIALS = Number(process.argv[3] ?? 3);
const COLUMNS = Object.keys(PREDICTION_COLUMN_TYPES);
let generation = 0;

function predictions(): PredictionRow[] {
  generation++;
  return Array.from({ length: ROWS }, (_, i) => ({
    project: 'bench',
    endpointId: `ep-${i % 20}`,
    time: Date.UTC(2026, 0, 1) + i,
    latencyUs: 1000 + (i % 500),
    requestId: `${generation}-${i}`,
    rowIndex: 0,
    features: Array.from({ length: 10 }, (_, j) => Math.round(Math.random() * 1e6) / 1e3 + j),
    outputs: [i % 2],
    labels: null,
  }));
}

/** COPY text format: tab-separated, `\N` for null, backslash escapes. */
function copyText(rows: readonly Row[]): string {
  const esc = (v: unknown): string =>
    v === null || v === undefined ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return rows.map((r) => COLUMNS.map((c) => esc((r as Record<string, unknown>)[c])).join('\t')).join('\n') + '\n';
}

async function measure(name: string, reset: () => Promise<void>, run: (rows: PredictionRow[]) => Promise<void>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    await reset();
    const rows = predictions();
    const t = performance.now();
    await run(rows);
    times.push(performance.now() - t);
  }
  const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? 0;
  console.log(`  ${name.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms ${((ROWS / ms) * 1000).toFixed(0).padStart(9)} rows/s`);
}

async function benchPostgres(url: string): Promise<void> {
  const tsdb = await openTsdb(url, { migrate: true });
  const client = new pg.Client({ ...postgresPoolConfig(url), types: PG_TYPES });
  await client.connect();
  const reset = async (): Promise<void> => {
    await client.query('truncate predictions, ingest_checkpoints');
  };
  const inTx = async (fn: () => Promise<void>): Promise<void> => {
    await client.query('begin');
    await fn();
    await client.query('commit');
  };
  // The Kysely handle of the tsdb, for the two Kysely paths run outside writeIngestBatch.
  const db = (tsdb as unknown as { db: Kysely<Database> }).db;
  try {
    await measure('writeIngestBatch (production path, tx + checkpoint)', reset, (rows) =>
      tsdb.writeIngestBatch({ predictions: rows, errors: [], histograms: [], checkpoint: { consumer: 'bench', partition: 0, offset: '1' } }),
    );
    await measure('multi-row INSERT ON CONFLICT, 65535 params/stmt', reset, (rows) =>
      db.transaction().execute(async (tx) => void (await insertIgnore(tx, POSTGRES_TRAITS, 'predictions', rows.map(predictionToRow)))),
    );
    await measure('unnest arrays INSERT ON CONFLICT', reset, (rows) =>
      db.transaction().execute(async (tx) => void (await unnestInsertIgnore(tx, 'predictions', PREDICTION_COLUMN_TYPES, rows.map(predictionToRow)))),
    );
    await measure('COPY temp table + INSERT SELECT ON CONFLICT', reset, (rows) =>
      inTx(async () => {
        await client.query('create temp table if not exists mw_in (like predictions) on commit delete rows');
        await pipeline(Readable.from([copyText(rows.map(predictionToRow))]), client.query(copyStreams.from(`copy mw_in (${COLUMNS.join(',')}) from stdin`)));
        await client.query(`insert into predictions (${COLUMNS.join(',')}) select ${COLUMNS.join(',')} from mw_in on conflict do nothing`);
      }),
    );
    await measure('bare COPY into predictions (ceiling, no dedupe)', reset, (rows) =>
      pipeline(Readable.from([copyText(rows.map(predictionToRow))]), client.query(copyStreams.from(`copy predictions (${COLUMNS.join(',')}) from stdin`))),
    );
  } finally {
    await client.end();
    await tsdb.close();
  }
}

async function benchOther(url: string): Promise<void> {
  const tsdb = await openTsdb(url, { migrate: true });
  const db = (tsdb as unknown as { db: Kysely<Database> }).db;
  const reset = async (): Promise<void> => {
    await sql`delete from predictions`.execute(db);
    await sql`delete from ingest_checkpoints`.execute(db);
  };
  try {
    await measure('writeIngestBatch (production path, tx + checkpoint)', reset, (rows) =>
      tsdb.writeIngestBatch({ predictions: rows, errors: [], histograms: [], checkpoint: { consumer: 'bench', partition: 0, offset: '1' } }),
    );
  } finally {
    await tsdb.close();
  }
}

for (const backend of selectedBackends()) {
  const reason = await unavailableReason(backend);
  if (reason) {
    console.log(`${backend}: skipped — ${reason}`);
    continue;
  }
  const dbs = new FreshDatabases(backend);
  try {
    console.log(`${backend}: ${ROWS} predictions, median of ${TRIALS}`);
    const url = await dbs.create();
    await (backend === 'postgres' ? benchPostgres(url) : benchOther(url));
  } finally {
    await dbs.dropAll();
  }
}
