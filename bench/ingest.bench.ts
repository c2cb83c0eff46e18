/**
 * `ingest` benchmark (issues 4 and 5): events per second from tracking to stored prediction rows,
 * against the raw insert rate of the same rows into the same database, measured in the same run.
 *
 * Pipeline measured: a {@link Tracker} (as serving uses it: default options, events built by
 * `buildInferenceEvent` and keyed by endpoint, 10 features per event, 20 endpoints whose logged
 * models carry reference histograms) publishes to the stream; the {@link StreamProcessor} consumes
 * into the tsdb (prediction rows, window histograms, checkpoints, endpoint bumps). By default the
 * tracker runs in a producer process of its own, as serving does under `modelwatch up`
 * (`--producer inline`: in the consuming process, as in the embedded SDK). The clock runs from the
 * first `track()` until the processor has stored the last event; the stored rows are then counted.
 *
 * Raw baseline: the same rows (the `predictions` columns, values already encoded) into an empty
 * copy of the `predictions` table (same columns and indexes) of the same database, the fastest
 * plain way: SQLite — one prepared better-sqlite3 INSERT in one transaction; PostgreSQL — COPY;
 * MySQL/MariaDB — multi-row INSERT batches in one transaction. Also reported: the stream processor
 * alone on a backlog of the same events (a worker catching up; fresh databases and stream),
 * `writeIngestBatch` alone on the same rows (the tsdb's share of the cost; on SQLite through its
 * writer thread), and CPU time per event of each process (steadier than wall time on a busy
 * machine), the consumer's main thread apart, and of the MariaDB, PostgreSQL and NATS servers when
 * they run on this machine (Linux), where they share the two cores with the pipeline.
 *
 * Rounds: the pipeline run and the raw insert are repeated `--rounds` times (3 by default), each
 * round on fresh databases and stream, the raw insert right after its pipeline run. Both rates swing
 * by a third or more between minutes on a shared two-core machine (the raw SQLite insert was
 * measured between 64,000 and 145,000 rows/s on this code), so one pair could land either side of
 * the target: figures are the medians of the rounds, and the ratio is the median of each round's
 * own ratio, whose two rates were measured on the machine as it was at the time.
 *
 * Arguments: `--backend STORE+STREAM` (`sqlite+embedded` default, `postgres+nats`, `mysql+nats`;
 * any of sqlite/postgres/mysql with embedded/nats), `--events N` (default 200000),
 * `--producer process|inline` (default process), `--rounds N` (default 3),
 * `--compare-methods` (PostgreSQL: also multi-row INSERT, unnest arrays and COPY through a temp table),
 * `--skip-backlog` (no second run of the processor alone on a full stream),
 * `--skip-baseline` (the pipeline only, e.g. under `node --cpu-prof`; the ratio is then -1).
 * Servers: MODELWATCH_TEST_POSTGRES_URL / MODELWATCH_TEST_MYSQL_URL (see test/backends/servers.ts),
 * MODELWATCH_TEST_NATS (host:port, default 127.0.0.1:4222).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import type { Insertable, Kysely } from 'kysely';
import { createConnection } from 'mysql2/promise';
import copyStreams from 'pg-copy-streams';
import pg from 'pg';
import { createLogger } from '../src/common/logger.ts';
import { DEFAULT_BATCH_SIZE, StreamProcessor } from '../src/pipeline/stream-processor/stream-processor.ts';
import { Platform } from '../src/project/platform.ts';
import { openTsdb } from '../src/store/connect.ts';
import { insertIgnore, POSTGRES_TRAITS } from '../src/store/dialect.ts';
import type { KyselyTsdb } from '../src/store/kysely-tsdb.ts';
import { mysqlConnectionOptions } from '../src/store/mysql/open.ts';
import { postgresPoolConfig } from '../src/store/postgres/open.ts';
import { PREDICTION_COLUMN_TYPES, unnestInsertIgnore } from '../src/store/postgres/unnest-insert.ts';
import type { Database } from '../src/store/schema.ts';
import type { PredictionRow } from '../src/store/tsdb-port.ts';
import { predictionToRow } from '../src/store/tsdb-rows.ts';
import { topics } from '../src/stream/port.ts';
import { Tracker } from '../src/tracking/tracker.ts';
import { FreshDatabases, unavailableReason } from '../test/backends/servers.ts';
import { deleteNatsNamespace, NATS_SERVER } from '../test/backends/nats.ts';
import type { ProducerMessage } from './lib/ingest-producer.ts';
import { ENDPOINTS, FEATURE_NAMES, FEATURES, IngestWorkload, LABEL_NAMES, modelUri, PROJECT, referenceStats, trackAll } from './lib/ingest-workload.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';
import { createMonitoredProject } from './lib/bench-project.ts';
import { mainThreadCpuMs } from './lib/thread-cpu.ts';
import { serverCpuSeconds, serverCpuSince, type ServerName } from './lib/server-cpu.ts';

type StoreKind = 'sqlite' | 'postgres' | 'mysql';
type StreamKind = 'embedded' | 'nats';
type Producer = 'process' | 'inline';
type RawRow = Insertable<Database['predictions']>;

const EMBEDDED_TARGET_EVENTS_PER_S = 50_000;
const COLUMNS = Object.keys(PREDICTION_COLUMN_TYPES) as (keyof RawRow & string)[];
const RAW_TABLE = 'predictions_raw';
const PRODUCER = fileURLToPath(new URL('./lib/ingest-producer.ts', import.meta.url));

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `--backend store+stream`, checked. */
export function parseBackend(text: string): { store: StoreKind; stream: StreamKind } {
  const [store, stream, extra] = text.split('+');
  const stores: readonly string[] = ['sqlite', 'postgres', 'mysql'];
  const streams: readonly string[] = ['embedded', 'nats'];
  const s = store === 'mariadb' ? 'mysql' : store;
  if (extra !== undefined || !s || !stream || !stores.includes(s) || !streams.includes(stream)) {
    throw new Error(`--backend must be STORE+STREAM with STORE one of ${stores.join(', ')} and STREAM one of ${streams.join(', ')}, got '${text}'`);
  }
  return { store: s as StoreKind, stream: stream as StreamKind };
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, got '${text}'`);
  return n;
}

function producerMode(text: string | undefined): Producer {
  const p = text ?? 'process';
  if (p !== 'process' && p !== 'inline') throw new Error(`--producer must be 'process' or 'inline', got '${p}'`);
  return p;
}

// ---- servers ------------------------------------------------------------------------------------

// ---- the pipeline ---------------------------------------------------------------------------------

interface IngestRun {
  seconds: number;
  /** CPU time (user + system) of the consuming process (and the producer's, when inline) over the run. */
  cpuSeconds: number;
  /** The consuming process's main thread alone (Linux; the SQLite writer thread runs beside it). */
  mainThreadCpuSeconds?: number;
  /** The producer process's CPU time, when it runs apart. */
  producerCpuSeconds?: number;
  storedRows: number;
  dropped: number;
  /** Stream-processor steps that stored events. */
  batches: number;
}

async function setUpProject(platform: Platform): Promise<void> {
  const now = Date.now();
  await createMonitoredProject(platform.store, { name: PROJECT, description: 'ingest benchmark', now, maxWindowsPerTick: 10 });
  const stats = referenceStats();
  for (let k = 0; k < ENDPOINTS; k++) {
    await platform.store.putModel({
      project: PROJECT,
      key: `model${k}`,
      tag: 'latest',
      uri: modelUri(k),
      modelFile: null,
      className: null,
      featureNames: [...FEATURE_NAMES],
      labelNames: [...LABEL_NAMES],
      featureStats: stats,
      labels: {},
      createdAt: now,
    });
  }
}

/** A producer process (see `lib/ingest-producer.ts`) that has built its workload and waits for `go`. */
async function startProducer(streamUrl: string, home: string, n: number, t0: number) {
  // The benchmark's own node flags (tsx; --cpu-prof when profiling), so the producer runs alike.
  const execArgv = process.execArgv.includes('tsx') ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
  const child = fork(PRODUCER, [streamUrl, home, String(n), String(t0)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: ProducerMessage[] = [];
  const waiters: (() => void)[] = [];
  let exited: string | undefined;
  child.on('message', (m: ProducerMessage) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  child.on('exit', (code, signal) => {
    exited = `the producer process exited (${String(code ?? signal)})`;
    for (const w of waiters.splice(0)) w();
  });
  const next = async (type: 'ready' | 'done'): Promise<Extract<ProducerMessage, { type: 'ready' | 'done' }>> => {
    for (;;) {
      const err = messages.find((m) => m.type === 'error');
      if (err && err.type === 'error') throw new Error(`producer: ${err.message}`);
      const m = messages.find((x) => x.type === type);
      if (m && m.type !== 'error') return m;
      if (exited) throw new Error(exited);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  await next('ready');
  return {
    go: () => void child.send('go'),
    done: () => next('done') as Promise<Extract<ProducerMessage, { type: 'done' }>>,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

/**
 * Tracks every event (in a producer process, or inline in this one) while the stream processor
 * consumes here; returns once every event is stored. The tracker is paced so that its bounded
 * queue never drops.
 */
async function runIngest(
  platform: Platform,
  producer: Producer | 'backlog',
  streamUrl: string,
  home: string,
  n: number,
  t0Ms: number,
  log: (line: string) => void,
): Promise<IngestRun> {
  const processor = new StreamProcessor(platform, PROJECT);
  // Subscribe (and open the tsdb) before the clock starts: a one-off cost of a worker's start-up.
  // Not for a backlog: a subscription open while the backlog is written would read (and decode)
  // much of it in the background, outside the measured time and CPU.
  if (producer !== 'backlog') await processor.step();
  const child = producer === 'process' ? await startProducer(streamUrl, home, n, t0Ms) : undefined;
  const stream = await platform.streamFor(PROJECT);
  const errors: unknown[] = [];
  let tracker = child ? undefined : new Tracker({ stream, topic: topics.events(PROJECT), onError: (err) => errors.push(err) });
  let workload = child ? undefined : new IngestWorkload(n, t0Ms);
  let dropped = 0;
  if (producer === 'backlog' && tracker && workload) {
    // Everything is in the stream before the clock starts: the processor alone, catching up.
    await trackAll(tracker, workload);
    dropped = tracker.stats().dropped;
    tracker = undefined;
    workload = undefined;
  }
  let consumerError: unknown;
  let batches = 0;
  try {
    const cpu0 = process.cpuUsage();
    const main0 = mainThreadCpuMs();
    const t0 = performance.now();
    const consumer = (async () => {
      try {
        while (processor.processedEvents + processor.invalidEvents < n) {
          if ((await processor.step()) === 0) await sleep(2);
          else batches++;
        }
      } catch (err) {
        consumerError = err;
      }
    })();
    let producerCpuSeconds: number | undefined;
    if (child) {
      child.go();
      const done = await Promise.race([child.done(), consumer.then(() => undefined)]);
      if (consumerError !== undefined) throw consumerError;
      const result = done ?? (await child.done());
      dropped = result.dropped;
      producerCpuSeconds = result.cpuSeconds;
      if (result.errors.length > 0) log(`the producer's tracker reported publish errors, first: ${result.errors[0]}`);
    } else if (tracker && workload) {
      await trackAll(tracker, workload, { stop: () => consumerError !== undefined });
      dropped += tracker.stats().dropped;
    }
    await consumer;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const main1 = mainThreadCpuMs();
    if (consumerError !== undefined) throw consumerError;
    await processor.flush();
    if (errors.length > 0) log(`tracker reported ${errors.length} publish error(s), first: ${String(errors[0])}`);
    if (processor.invalidEvents > 0) throw new Error(`the stream processor dropped ${processor.invalidEvents} events as invalid`);
    const tsdb = await platform.tsdbFor(PROJECT);
    const storedRows = (await tsdb.predictionSummary(PROJECT, 0)).reduce((s, e) => s + e.count, 0);
    const mainThreadCpuSeconds = main0 !== undefined && main1 !== undefined ? (main1 - main0) / 1000 : undefined;
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainThreadCpuSeconds, producerCpuSeconds, storedRows, dropped, batches };
  } finally {
    child?.kill();
    await tracker?.close();
    await processor.close();
  }
}

// ---- raw baselines ------------------------------------------------------------------------------

/** One prepared INSERT in one transaction, on the same file and settings as the tsdb's. */
function rawSqlite(file: string, rows: readonly RawRow[]): { seconds: number; cpuSeconds: number } {
  const db = new BetterSqlite3(file, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const ddl = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'predictions' AND sql IS NOT NULL").all() as {
      type: string;
      name: string;
      sql: string;
    }[];
    const table = ddl.find((d) => d.type === 'table');
    if (!table) throw new Error('no predictions table in the tsdb');
    db.exec(table.sql.replace(/"?predictions"?/, RAW_TABLE));
    for (const d of ddl.filter((x) => x.type === 'index')) {
      db.exec(d.sql.replace(`"${d.name}"`, `"${d.name}_raw"`).replace(/\bon "?predictions"?/i, `on ${RAW_TABLE}`));
    }
    const insert = db.prepare(`INSERT INTO ${RAW_TABLE} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    db.transaction(() => {
      for (const r of rows) insert.run(r.project, r.endpoint_id, r.time, r.latency_us, r.request_id, r.row_index, r.features, r.outputs, r.labels);
    })();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const count = (db.prepare(`SELECT count(*) AS n FROM ${RAW_TABLE}`).get() as { n: number }).n;
    if (count !== rows.length) throw new Error(`raw insert stored ${count} of ${rows.length} rows`);
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    db.close();
  }
}

/** COPY text format: tab-separated, `\N` for null, backslash escapes. */
function copyText(rows: readonly RawRow[]): string {
  const esc = (v: unknown): string =>
    v === null || v === undefined ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  const out: string[] = [];
  for (const r of rows) out.push(COLUMNS.map((c) => esc(r[c])).join('\t'));
  return `${out.join('\n')}\n`;
}

async function copyInto(client: pg.Client, table: string, rows: readonly RawRow[]): Promise<void> {
  await pipeline(Readable.from([copyText(rows)]), client.query(copyStreams.from(`copy ${table} (${COLUMNS.join(',')}) from stdin`)));
}

async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...postgresPoolConfig(url) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** COPY (text) into an empty copy of `predictions` with its indexes. */
async function rawPostgres(url: string, rows: readonly RawRow[]): Promise<number> {
  return withPg(url, async (client) => {
    await client.query(`create table ${RAW_TABLE} (like predictions including all)`);
    const t0 = performance.now();
    await copyInto(client, RAW_TABLE, rows);
    const seconds = (performance.now() - t0) / 1000;
    const { rows: c } = await client.query<{ n: string }>(`select count(*) as n from ${RAW_TABLE}`);
    if (Number(c[0]?.n) !== rows.length) throw new Error(`COPY stored ${c[0]?.n} of ${rows.length} rows`);
    return seconds;
  });
}

/** Multi-row INSERT batches (2,000 rows each) in one transaction into an empty copy of `predictions`. */
async function rawMysql(url: string, rows: readonly RawRow[]): Promise<number> {
  const conn = await createConnection(mysqlConnectionOptions(url));
  try {
    await conn.query(`create table ${RAW_TABLE} like predictions`);
    const t0 = performance.now();
    await conn.query('begin');
    for (let i = 0; i < rows.length; i += 2000) {
      const part = rows.slice(i, i + 2000).map((r) => COLUMNS.map((c) => r[c] ?? null));
      await conn.query(`insert into ${RAW_TABLE} (${COLUMNS.join(',')}) values ?`, [part]);
    }
    await conn.query('commit');
    const seconds = (performance.now() - t0) / 1000;
    const [c] = (await conn.query(`select count(*) as n from ${RAW_TABLE}`)) as unknown as [{ n: number }[]];
    if (Number(c[0]?.n) !== rows.length) throw new Error(`raw insert stored ${c[0]?.n} of ${rows.length} rows`);
    return seconds;
  } finally {
    await conn.end();
  }
}

/** `writeIngestBatch` alone on the same rows, in the batches the stream processor writes, into a fresh tsdb. */
async function tsdbWrite(url: string, predictions: readonly PredictionRow[], batch: number): Promise<number> {
  const tsdb = await openTsdb(url, { migrate: true });
  try {
    // The way the stream processor writes: on the SQLite writer thread once it runs.
    await (tsdb as Partial<KyselyTsdb>).ingestThreadStarted?.();
    const t0 = performance.now();
    for (let i = 0; i < predictions.length; i += batch) {
      await tsdb.writeIngestBatch({
        predictions: predictions.slice(i, i + batch),
        errors: [],
        histograms: [],
        checkpoint: { consumer: 'bench', partition: 0, offset: String(1e9 + i) },
      });
    }
    return (performance.now() - t0) / 1000;
  } finally {
    await tsdb.close();
  }
}

/** PostgreSQL only: the other ways of writing predictions, each into a fresh database (seconds). */
async function postgresMethods(dbs: FreshDatabases, rows: readonly RawRow[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const timed = async (name: string, fn: (url: string, db: Kysely<Database>) => Promise<void>): Promise<void> => {
    const url = await dbs.create();
    const tsdb = await openTsdb(url, { migrate: true });
    try {
      // The tsdb's Kysely handle, to run the two Kysely paths outside writeIngestBatch.
      const db = (tsdb as unknown as { db: Kysely<Database> }).db;
      const t0 = performance.now();
      await fn(url, db);
      out[name] = (performance.now() - t0) / 1000;
    } finally {
      await tsdb.close();
    }
  };
  await timed('multirow_insert_on_conflict', (_url, db) => db.transaction().execute(async (tx) => void (await insertIgnore(tx, POSTGRES_TRAITS, 'predictions', rows))));
  await timed('unnest_insert_on_conflict', (_url, db) =>
    db.transaction().execute(async (tx) => void (await unnestInsertIgnore(tx, 'predictions', PREDICTION_COLUMN_TYPES, rows))),
  );
  await timed('copy_temp_then_insert_on_conflict', (url) =>
    withPg(url, async (client) => {
      await client.query('begin');
      await client.query('create temp table mw_in (like predictions) on commit drop');
      await copyInto(client, 'mw_in', rows);
      await client.query(`insert into predictions (${COLUMNS.join(',')}) select ${COLUMNS.join(',')} from mw_in on conflict do nothing`);
      await client.query('commit');
    }),
  );
  return out;
}

// ---- the benchmark --------------------------------------------------------------------------------

/** One round: the pipeline on fresh databases and stream, then the raw insert of the same rows. */
interface Round {
  run: IngestRun;
  ingestRate: number;
  rawRate: number;
  rawCpuSeconds?: number;
  /** CPU seconds of the local servers (MariaDB, PostgreSQL, NATS) during the pipeline and during the raw insert. */
  serverCpu?: Record<ServerName, number>;
  rawServerCpu?: Record<ServerName, number>;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const backend = parseBackend(args.backend ?? 'sqlite+embedded');
  const n = positiveInt('events', args.events, 200_000);
  const rounds = args['skip-baseline'] ? 1 : positiveInt('rounds', args.rounds, 3);
  const producer = producerMode(args.producer);
  const label = `${backend.store}+${backend.stream}`;
  if (backend.store !== 'sqlite') {
    const reason = await unavailableReason(backend.store);
    if (reason) throw new Error(reason);
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-bench-ingest-'));
  const dbs = backend.store === 'sqlite' ? undefined : new FreshDatabases(backend.store);
  const ns = `b${randomBytes(5).toString('hex')}`;
  const namespaces: string[] = [];
  const figures: Record<string, Figure> = { backend: label, producer, events: n, endpoints: ENDPOINTS, features_per_event: FEATURES, rounds };
  const baseline: Record<string, Figure> = {};
  /** A fresh tsdb (and store) URL and a fresh stream URL, in a folder of their own under the run's home. */
  const freshUrls = async (name: string) => {
    const dir = path.join(home, name);
    const storeUrl = dbs ? await dbs.create() : `sqlite://${path.join(dir, 'modelwatch.db')}`;
    namespaces.push(`${ns}${name}`);
    const streamUrl = backend.stream === 'nats' ? `nats://${NATS_SERVER}?namespace=${ns}${name}` : `embedded://${path.join(dir, 'stream.db')}`;
    return { dir, storeUrl, streamUrl };
  };
  try {
    const t0Ms = Date.now();
    const results: Round[] = [];
    for (let r = 1; r <= rounds; r++) {
      const { dir, storeUrl, streamUrl } = await freshUrls(`round${r}`);
      log(`round ${r} of ${rounds}: ingest of ${n} events: tracker (${producer === 'process' ? 'in a producer process' : 'inline'}) → ${backend.stream} stream → stream processor → ${backend.store} tsdb ...`);
      const platform = await Platform.open({ home: dir, storeUrl, tsdbUrl: storeUrl, streamUrl, logger: createLogger('bench', 'warn') });
      let run: IngestRun;
      let serverCpu: Record<ServerName, number> | undefined;
      try {
        await setUpProject(platform);
        const cpu0 = serverCpuSeconds();
        run = await runIngest(platform, producer, streamUrl, dir, n, t0Ms, log);
        serverCpu = serverCpuSince(cpu0);
      } finally {
        await platform.close();
      }
      if (run.dropped > 0) throw new Error(`the tracker dropped ${run.dropped} events`);
      if (run.storedRows !== n) throw new Error(`ingest stored ${run.storedRows} prediction rows for ${n} events`);
      const ingestRate = n / run.seconds;
      log(`  ${r3(run.seconds)} s, ${Math.round(ingestRate)} events/s`);
      if (args['skip-baseline']) {
        results.push({ run, ingestRate, rawRate: Number.NaN, serverCpu });
        break;
      }
      // Built after the pipeline ran and dropped once inserted: 200,000 rows held through the
      // pipeline would weigh on this process's garbage collector, which is the stream processor's.
      const rows = rawRows(n, t0Ms);
      const rawCpu0 = serverCpuSeconds();
      const raw = backend.store === 'sqlite' ? rawSqlite(path.join(dir, 'modelwatch.db'), rows) : { seconds: backend.store === 'postgres' ? await rawPostgres(storeUrl, rows) : await rawMysql(storeUrl, rows) };
      const rawServerCpu = serverCpuSince(rawCpu0);
      const rawRate = n / raw.seconds;
      log(`  raw insert of the same rows: ${r3(raw.seconds)} s, ${Math.round(rawRate)} rows/s; ratio ${r3(ingestRate / rawRate)}`);
      results.push({ run, ingestRate, rawRate, rawCpuSeconds: 'cpuSeconds' in raw ? raw.cpuSeconds : undefined, serverCpu, rawServerCpu });
    }

    // Each figure is the median over the rounds; the ratio is the median of each round's own ratio
    // (a pipeline run and a raw insert measured one after the other, on the machine as it was then).
    const med = (f: (x: Round) => number | undefined): number | undefined => {
      const xs = results.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return xs.length > 0 ? median(xs) : undefined;
    };
    const perEvent = (f: (x: Round) => number | undefined): number | undefined => {
      const m = med(f);
      return m === undefined ? undefined : r3((m * 1e6) / n);
    };
    const put = (target: Record<string, Figure>, name: string, value: number | undefined): void => {
      if (value !== undefined) target[name] = value;
    };
    const ingestRate = med((x) => x.ingestRate)!;
    figures.ingest_s = r3(n / ingestRate);
    figures.ingest_events_per_s = Math.round(ingestRate);
    if (rounds > 1) figures.ingest_events_per_s_rounds = results.map((x) => Math.round(x.ingestRate)).join(' ');
    figures.stored_rows = results[0]!.run.storedRows;
    figures.consumer_batches = med((x) => x.run.batches)!;
    put(figures, producer === 'process' ? 'consumer_cpu_us_per_event' : 'cpu_us_per_event', perEvent((x) => x.run.cpuSeconds));
    put(figures, 'consumer_main_thread_cpu_us_per_event', perEvent((x) => x.run.mainThreadCpuSeconds));
    put(figures, 'producer_cpu_us_per_event', perEvent((x) => x.run.producerCpuSeconds));
    for (const server of serverNames(backend)) put(figures, `${server}_server_cpu_us_per_event`, perEvent((x) => x.serverCpu?.[server]));
    if (backend.store === 'sqlite' && backend.stream === 'embedded') {
      figures.embedded_target_events_per_s = EMBEDDED_TARGET_EVENTS_PER_S;
      figures.embedded_target_met = ingestRate >= EMBEDDED_TARGET_EVENTS_PER_S ? 'yes' : 'no';
    }

    if (!args['skip-backlog']) {
      log(`backlog: the stream processor alone on ${n} events already in the stream (fresh databases and stream) ...`);
      const { dir, storeUrl, streamUrl } = await freshUrls('backlog');
      const platform2 = await Platform.open({ home: dir, storeUrl, tsdbUrl: storeUrl, streamUrl, logger: createLogger('bench', 'warn') });
      try {
        await setUpProject(platform2);
        const drain = await runIngest(platform2, 'backlog', streamUrl, dir, n, t0Ms, log);
        if (drain.storedRows !== n || drain.dropped > 0) throw new Error(`backlog run stored ${drain.storedRows} rows for ${n} events (${drain.dropped} dropped)`);
        figures.backlog_events_per_s = Math.round(n / drain.seconds);
        figures.backlog_cpu_us_per_event = r3((drain.cpuSeconds * 1e6) / n);
        if (drain.mainThreadCpuSeconds !== undefined) figures.backlog_main_thread_cpu_us_per_event = r3((drain.mainThreadCpuSeconds * 1e6) / n);
        figures.backlog_batches = drain.batches;
        log(`  ${figures.backlog_events_per_s} events/s, ${figures.backlog_cpu_us_per_event} µs CPU per event`);
      } finally {
        await platform2.close();
      }
    }

    if (args['skip-baseline']) return { figures, baseline, ratio: -1, target: 0.5, better: 'higher' };

    const rawRate = med((x) => x.rawRate)!;
    baseline.method = backend.store === 'sqlite' ? 'prepared INSERT, one transaction' : backend.store === 'postgres' ? 'COPY (text)' : 'multi-row INSERT × 2000, one transaction';
    baseline.raw_s = r3(n / rawRate);
    baseline.raw_rows_per_s = Math.round(rawRate);
    if (rounds > 1) baseline.raw_rows_per_s_rounds = results.map((x) => Math.round(x.rawRate)).join(' ');
    put(baseline, 'raw_cpu_us_per_row', perEvent((x) => x.rawCpuSeconds));
    for (const server of serverNames(backend)) put(baseline, `raw_${server}_server_cpu_us_per_row`, perEvent((x) => x.rawServerCpu?.[server]));

    log(`writeIngestBatch alone on the same rows (batches of ${DEFAULT_BATCH_SIZE}, fresh database) ...`);
    const tsdbUrl = dbs ? await dbs.create() : `sqlite://${path.join(home, 'tsdb-only.db')}`;
    const w = new IngestWorkload(n, t0Ms);
    const predictions = Array.from({ length: n }, (_, i) => w.prediction(i));
    const tsdbSeconds = await tsdbWrite(tsdbUrl, predictions, DEFAULT_BATCH_SIZE);
    figures.tsdb_write_rows_per_s = Math.round(n / tsdbSeconds);
    figures.tsdb_write_vs_raw = r3(n / tsdbSeconds / rawRate);
    log(`  ${figures.tsdb_write_rows_per_s} rows/s`);

    if (args['compare-methods'] && backend.store === 'postgres' && dbs) {
      log('PostgreSQL insert methods on the same rows (fresh database each) ...');
      for (const [name, sec] of Object.entries(await postgresMethods(dbs, predictions.map(predictionToRow)))) baseline[`${name}_rows_per_s`] = Math.round(n / sec);
    }

    const ratio = r3(median(results.map((x) => x.ingestRate / x.rawRate)));
    figures.ratio_ingest_vs_raw = ratio;
    if (rounds > 1) figures.ratio_rounds = results.map((x) => r3(x.ingestRate / x.rawRate)).join(' ');
    return { figures, baseline, ratio, target: 0.5, better: 'higher' };
  } finally {
    if (dbs) await dbs.dropAll().catch((err: unknown) => log(`could not drop the bench databases: ${String(err)}`));
    if (backend.stream === 'nats') {
      for (const space of namespaces) await deleteNatsNamespace(space).catch((err: unknown) => log(`could not delete NATS namespace ${space}: ${String(err)}`));
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** The workload's prediction rows as table rows (the raw baseline's input). */
function rawRows(n: number, t0Ms: number): RawRow[] {
  const w = new IngestWorkload(n, t0Ms);
  return Array.from({ length: n }, (_, i) => predictionToRow(w.prediction(i)));
}

/** The servers a backend runs on (their CPU is reported when they run on this machine). */
function serverNames(backend: { store: StoreKind; stream: StreamKind }): ServerName[] {
  const out: ServerName[] = [];
  if (backend.store === 'mysql') out.push('mariadb');
  if (backend.store === 'postgres') out.push('postgres');
  if (backend.stream === 'nats') out.push('nats');
  return out;
}

/** The `ingest` benchmark. */
export const bench: Benchmark = {
  name: 'ingest',
  description: 'events/s from tracking to stored prediction rows vs the raw insert rate of the same rows (--backend sqlite+embedded|postgres+nats|mysql+nats)',
  run: runBench,
};
