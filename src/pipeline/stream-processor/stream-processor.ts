import { errorMessage } from '../../common/errors.ts';
import { columnTextProblem, DEAD_LETTER_LIMITS, EVENT_LIMITS, nameProblem, storableText, wellFormed } from '../../common/event-limits.ts';
import { STREAM_FUNCTION } from '../../common/names.ts';
import type { EndpointRecord, FeatureStatsMap, InferenceEvent } from '../../common/types.ts';
import type { Platform } from '../../project/platform.ts';
import type { EndpointBump, Store } from '../../store/port.ts';
import { toJson } from '../../store/codec.ts';
import { PredictionColumns } from '../../store/prediction-columns.ts';
import type { DeadLetterRow, ErrorRow, IngestBatch, Tsdb } from '../../store/tsdb-port.ts';
import { compareOffsets, topics, type StreamMessage, type Subscription } from '../../stream/port.ts';
import { windowStartOf, type Worker } from '../worker.ts';
import { HistogramAccumulator, type WindowRows } from './histogram-accumulator.ts';
import { recordLateRows } from './late-events.ts';
import { rowTexts } from './row-text.ts';
import { EventParser } from './validate-event.ts';
import { writeFailure } from './write-failure.ts';

export interface StreamProcessorOptions {
  /** Events read and written per batch. @default {@link DEFAULT_BATCH_SIZE} */
  batchSize?: number;
  /** How often live endpoint metrics are refreshed (clock ms). @default 5000 */
  metricsIntervalMs?: number;
  /**
   * Real time a step keeps collecting a partial batch while events keep arriving (it stops at the
   * first poll that finds none). Each batch costs a transaction plus a histogram row per endpoint,
   * window and feature, so batches of a few events would cost many times their rows. 0 writes
   * whatever one fetch returned. @default 50
   */
  lingerMs?: number;
}

/**
 * Events per batch by default. Each batch also costs a transaction, a histogram row per endpoint,
 * window and feature, a checkpoint and a transaction of endpoint updates, so a worker catching up
 * writes fewer of those per event with large batches. Two batches are in memory at once (one is
 * written while the next is parsed): with 10,000 the `memory` benchmark's processor (100
 * endpoints × 20 features) peaked at 300–315 MB, with 7,500 at 277–299 MB, with 6,000 at 292 MB
 * (one run), at 36–38k events/s.
 */
export const DEFAULT_BATCH_SIZE = 7_500;

/** Real time between the polls of a lingering step. */
const LINGER_POLL_MS = 5;

/** Batches one step takes at most while events keep waiting (so that it returns now and then). */
const MAX_BATCHES_PER_STEP = 8;

/** Tries of an event written on its own before it is dead-lettered (see `writeCarefully`). */
const SINGLE_EVENT_TRIES = 3;

/** Real time between two tries of a part that failed to write. */
const RETRY_PAUSE_MS = 100;

/** Per endpoint, what a batch adds to its counters (written with `Store.bumpEndpoints`). */
type Bumps = Map<string, Required<EndpointBump>>;

/** One partition's part of a batch, parsed and ready to write. */
interface PreparedPartition {
  /** Let go once handed to the tsdb (which keeps what it still needs), so that it is not held while the next batch is read. */
  batch: IngestBatch | undefined;
  bumps: Bumps;
}

/** One partition's part of a batch while its messages are parsed. */
interface PartitionDraft {
  partition: number;
  /** The partition's stored checkpoint while the batch's messages are at or below it; then undefined. */
  done: string | undefined;
  /** The checkpoint the batch's write expects to find (see `IngestCheckpoint.after`). */
  after: string | null;
  /** Events of the batch refused (see event-limits.ts), stored as dead letters with it. */
  deadLetters: DeadLetterRow[];
  /** The partition's last message so far: acknowledged with the batch, its offset the checkpoint written. */
  last: StreamMessage;
  predictions: PredictionColumns;
  errors: ErrorRow[];
  hist: HistogramAccumulator;
  bumps: Bumps;
}

/** A batch parsed and ready to write, with the endpoint store its endpoints were registered in. */
interface PreparedBatch {
  partitions: PreparedPartition[];
  endpoints: Store;
  /**
   * The last message of each partition: acknowledging it commits every message handed out before
   * it (see `Subscription.ack`), so the batch's texts need not be kept until it is written.
   */
  acks: StreamMessage[];
  /** Messages in the batch. */
  events: number;
  /** Rows per endpoint and window, to find the late ones once stored. */
  windows: WindowRows[];
}

interface KnownEndpoint {
  featureNames: string[];
  labelNames: string[];
  featureStats: FeatureStatsMap;
}

/**
 * Consumes a project's inference events: validates them, registers endpoints on first sight,
 * splits requests into rows, maps feature names, writes predictions and errors in batches,
 * keeps per-window histograms on the reference edges, and refreshes live endpoint metrics.
 */
export class StreamProcessor implements Worker {
  readonly name = STREAM_FUNCTION;
  private sub: Subscription | undefined;
  private readonly known = new Map<string, KnownEndpoint>();
  /** The endpoint store `known` describes: the project's credentials may move it (`replace`). */
  private knownIn: Store | undefined;
  private readonly touched = new Set<string>();
  private readonly events = new EventParser();
  /** Checkpoints are per consumed topic: offsets of different projects' topics never compare. */
  private readonly consumer: string;
  private lastMetricsAt = 0;
  private readonly batchSize: number;
  private readonly metricsIntervalMs: number;
  private readonly lingerMs: number;
  /** Events refused (not an event, beyond the event limits, another project's): dead-lettered. */
  invalidEvents = 0;
  /** Events that failed to store on their own: dead-lettered. */
  unstorableEvents = 0;
  /**
   * Per partition, the offset up to which the events read went unwritten when a write failed:
   * they are read again and written in parts (see {@link stepCarefully}).
   */
  private suspect = new Map<number, string>();
  /** Per partition, the last offset read into a batch on this subscription (what the next batch's write expects stored). */
  private readonly lastSeen = new Map<number, string>();
  /** Per partition, the checkpoint this processor last wrote on this subscription. */
  private readonly written = new Map<number, string>();
  processedEvents = 0;
  /** Rows stored after their window was handed out (see late-events.ts). */
  lateRows = 0;

  constructor(
    private readonly platform: Platform,
    readonly project: string,
    opts: StreamProcessorOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    this.consumer = `${STREAM_FUNCTION}:${topics.events(project)}`;
    this.metricsIntervalMs = opts.metricsIntervalMs ?? 5000;
    this.lingerMs = Math.max(0, opts.lingerMs ?? 50);
  }

  /**
   * Reads, writes and acknowledges batches while events are waiting (up to
   * {@link MAX_BATCHES_PER_STEP} of them), returning how many events it took. With a tsdb server
   * (PostgreSQL, MySQL) a batch is parsed while the one before it is being written: the server
   * inserts one batch while this process decodes the next, where one after the other each waited
   * for the other. Batches are committed and acknowledged in order, one at a time.
   */
  async step(): Promise<number> {
    for (let round = 1; ; round++) {
      try {
        const sub = await this.subscription();
        return this.suspect.size > 0 ? await this.stepCarefully(sub) : await this.stepBatches(sub);
      } catch (err) {
        const unwritten = this.unwritten();
        // What was read and not written is delivered again to the next subscription: a later
        // acknowledgement on this one would commit past it.
        await this.dropSubscription();
        if (round > 1 || this.suspect.size > 0 || unwritten.size === 0 || writeFailure(err) === 'infrastructure') throw err;
        this.suspect = unwritten;
        this.platform.logger.warn(
          { project: this.project, err: errorMessage(err) },
          'an ingest batch failed to store; storing its events again in parts, to dead-letter those that fail on their own',
        );
      }
    }
  }

  /** The subscription, taken anew after a failure (see {@link step}). */
  private async subscription(): Promise<Subscription> {
    if (this.sub) return this.sub;
    const stream = await this.platform.streamFor(this.project);
    this.sub = await stream.subscribe(topics.events(this.project), STREAM_FUNCTION);
    (await this.platform.tsdbFor(this.project)).prepareIngest?.();
    return this.sub;
  }

  /** Closes the subscription: what it handed out and was not acknowledged goes to the next one. */
  private async dropSubscription(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    this.lastSeen.clear();
    this.written.clear();
    await sub?.close().catch((err: unknown) => this.platform.logger.warn({ project: this.project, err: errorMessage(err) }, 'could not close the event subscription'));
  }

  /** Per partition, the last offset read on this subscription and not written. */
  private unwritten(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [p, offset] of this.lastSeen) {
      const w = this.written.get(p);
      if (w === undefined || compareOffsets(w, offset) < 0) out.set(p, offset);
    }
    return out;
  }

  /** Batches as they come (see {@link step}). */
  private async stepBatches(sub: Subscription): Promise<number> {
    let first = await sub.fetch(this.readChunk(sub), 0);
    if (first.length === 0) {
      // Only when due: under a trickle of events nearly every other step is idle, and a refresh is
      // an aggregate query over the last hour of predictions. `flush()` forces one.
      await this.refreshMetrics(true);
      return 0;
    }
    const tsdb = await this.platform.tsdbFor(this.project);
    let taken = 0;
    let writing: Promise<void> | undefined;
    try {
      for (let batches = 1; ; batches++) {
        const prepared = await this.prepare(tsdb, sub, first);
        first = [];
        taken += prepared.events;
        ({ writing } = await this.startBatch(tsdb, prepared, writing));
        if (batches >= MAX_BATCHES_PER_STEP) break;
        // A turn of the event loop between batches: on SQLite and the embedded log a batch can be
        // read, parsed and (without its writer thread) written on promises alone, and timers and
        // I/O (the writer thread's start-up, serving in an embedded process) would wait the whole step.
        await new Promise((r) => setImmediate(r));
        first = await sub.fetch(this.readChunk(sub), 0);
        if (first.length === 0) break;
      }
    } finally {
      if (writing) await writing;
    }
    await this.refreshMetrics(true);
    return taken;
  }

  /**
   * Messages fetched at a time within a batch: the subscription's `readChunk` (the embedded log:
   * 500) or the whole batch. Read at once from the embedded log, a batch's 7,500 messages lived
   * until the last was parsed, some 30 MB of allocation later, and were promoted: the consumer's GC
   * copied 190 MB and promoted 150 MB per 200k events (ingest benchmark, `node --trace-gc-nvp`);
   * read 500 at a time, 62 and 42 MB. From NATS, fetches of 500 cost a fifth of the throughput.
   */
  private readChunk(sub: Subscription): number {
    return Math.min(sub.readChunk ?? this.batchSize, this.batchSize);
  }

  /**
   * Waits for the write before it (`previous`) and starts the batch's own: returns the write in
   * flight (wrapped, so that returning it does not wait for it), or none once done when the tsdb
   * writes on this thread.
   */
  private async startBatch(tsdb: Tsdb, prepared: PreparedBatch, previous: Promise<void> | undefined): Promise<{ writing?: Promise<void> }> {
    if (previous) await previous;
    const writing = this.commit(tsdb, prepared);
    // Awaited by the caller; a failure meanwhile must not count as unhandled.
    writing.catch(() => undefined);
    if (!tsdb.writesInProcess) return { writing };
    // A write on this thread leaves nothing to overlap: the next batch is read once it is done.
    await writing;
    return {};
  }

  /**
   * Reads and parses one batch: `first`, then further fetches of up to {@link readChunk} messages
   * while events are waiting, up to the batch size; once the stream has none left it keeps polling
   * for up to `lingerMs` (see {@link StreamProcessorOptions.lingerMs}) while more keep arriving.
   * Each message is let go once parsed (see {@link parseChunk}).
   */
  private async prepare(tsdb: Tsdb, sub: Subscription | undefined, first: StreamMessage[]): Promise<PreparedBatch> {
    // Endpoints known in a store the project no longer uses register again in the one it does.
    const endpoints = await this.platform.endpointStoreFor(this.project);
    if (endpoints !== this.knownIn) {
      this.known.clear();
      this.knownIn = endpoints;
    }
    // Once per batch, not per partition: a store read.
    const periodMs = await this.basePeriodMs();
    const drafts = new Map<number, PartitionDraft>();
    const until = Date.now() + this.lingerMs;
    let chunk = first;
    const size = sub === undefined ? first.length : this.readChunk(sub);
    let asked = size;
    let events = 0;
    for (;;) {
      events += chunk.length;
      // Without a subscription the batch is `first` alone, read again after a failure (see `writeCarefully`).
      await this.parseChunk(tsdb, drafts, chunk, periodMs, sub !== undefined);
      if (sub === undefined) break;
      const want = Math.min(size, this.batchSize - events);
      if (want <= 0) break;
      if (chunk.length < asked) {
        // The stream had no more: poll while they keep coming, until the linger time is up.
        const left = until - Date.now();
        if (this.lingerMs === 0 || left <= 0) break;
        await new Promise((r) => setTimeout(r, Math.min(LINGER_POLL_MS, left)));
      }
      asked = want;
      chunk = await sub.fetch(want, 0);
      if (chunk.length === 0) break;
    }
    const partitions: PreparedPartition[] = [];
    const acks: StreamMessage[] = [];
    const windows: WindowRows[] = [];
    for (const d of drafts.values()) {
      acks.push(d.last);
      for (const w of d.hist.windowRows()) windows.push(w);
      partitions.push({
        batch: {
          predictions: d.predictions,
          errors: d.errors,
          histograms: d.hist.rows(),
          deadLetters: d.deadLetters,
          checkpoint: { consumer: this.consumer, partition: d.partition, offset: d.last.offset, after: d.after },
        },
        bumps: d.bumps,
      });
    }
    return { partitions, endpoints, acks, events, windows };
  }

  /** Writes a prepared batch partition by partition, then acknowledges it (unless `ack` is false). */
  private async commit(tsdb: Tsdb, prepared: PreparedBatch, ack = true): Promise<void> {
    for (const p of prepared.partitions) {
      if (!p.batch) continue;
      const cp = p.batch.checkpoint;
      const write = tsdb.writeIngestBatch(p.batch);
      p.batch = undefined;
      await write;
      if (cp) this.written.set(cp.partition, cp.offset);
      await prepared.endpoints.bumpEndpoints(this.project, p.bumps);
      for (const id of p.bumps.keys()) this.touched.add(id);
    }
    await this.countLate(prepared);
    if (!ack) return;
    await this.sub?.ack(prepared.acks);
    this.processedEvents += prepared.events;
  }

  /**
   * Reads again the events a failed write left unwritten (up to {@link suspect}, at most a batch),
   * writes them with {@link writeCarefully}, then acknowledges them.
   */
  private async stepCarefully(sub: Subscription): Promise<number> {
    const tsdb = await this.platform.tsdbFor(this.project);
    const list: StreamMessage[] = [];
    const open = new Map(this.suspect);
    while (open.size > 0 && list.length < this.batchSize) {
      const got = await sub.fetch(Math.min(this.readChunk(sub), this.batchSize - list.length), 0);
      // None left to read here (another processor took the partitions): nothing is suspect any more.
      if (got.length === 0) open.clear();
      for (const m of got) {
        list.push(m);
        const upTo = open.get(m.partition);
        if (upTo !== undefined && compareOffsets(m.offset, upTo) >= 0) open.delete(m.partition);
      }
    }
    if (list.length > 0) {
      await this.writeCarefully(tsdb, list, true);
      const acks = new Map<number, StreamMessage>();
      for (const m of list) acks.set(m.partition, m);
      await sub.ack([...acks.values()]);
      this.processedEvents += list.length;
    }
    this.suspect = open;
    await this.refreshMetrics(true);
    return list.length;
  }

  /**
   * Writes `list` (messages in the order read) as one batch; when that fails for its data (see
   * write-failure.ts), tries again once (`retry`), then writes each half the same way, so that the
   * events that fail are found in a number of writes that grows with the log of the batch. An event
   * that fails on its own, {@link SINGLE_EVENT_TRIES} times, is dead-lettered with the engine's
   * error. Infrastructure failures are thrown: nothing is dead-lettered for them.
   */
  private async writeCarefully(tsdb: Tsdb, list: StreamMessage[], retry: boolean): Promise<void> {
    const tries = list.length === 1 ? SINGLE_EVENT_TRIES : retry ? 2 : 1;
    let failure: unknown;
    for (let t = 1; t <= tries; t++) {
      try {
        await this.commit(tsdb, await this.prepare(tsdb, undefined, [...list]), false);
        return;
      } catch (err) {
        const kind = writeFailure(err);
        if (kind === 'infrastructure' || (kind === 'timeout' && list.length === 1)) throw err;
        failure = err;
        if (kind === 'timeout') break;
        if (t < tries) await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS * t));
      }
    }
    if (list.length > 1) {
      const half = list.length >>> 1;
      await this.writeCarefully(tsdb, list.slice(0, half), false);
      await this.writeCarefully(tsdb, list.slice(half), false);
      return;
    }
    await this.deadLetterAlone(tsdb, list[0]!, `could not be stored: ${errorMessage(failure)}`);
  }

  /**
   * Writes one event as a dead letter, moving its partition's checkpoint past it, and counts it on
   * its endpoint's errors when the endpoint exists.
   */
  private async deadLetterAlone(tsdb: Tsdb, m: StreamMessage, reason: string): Promise<void> {
    const done = await tsdb.getCheckpoint(this.consumer, m.partition);
    if (done !== undefined && compareOffsets(m.offset, done) <= 0) return;
    const parsed = this.events.parse(m.value);
    const e = parsed.ok ? parsed.event : undefined;
    const endpointId = e?.endpointId ?? (parsed.ok ? undefined : parsed.endpointId);
    const requestId = e?.request.id ?? (parsed.ok ? undefined : parsed.requestId);
    const now = this.platform.clock.now();
    const letter = deadLetterOf(this.project, m, reason, endpointId, requestId, now);
    const known = letter.endpointId !== null && (await this.endpointExists(letter.endpointId));
    const checkpoint = { consumer: this.consumer, partition: m.partition, offset: m.offset, after: done ?? null };
    try {
      await tsdb.writeIngestBatch({ predictions: [], errors: [], histograms: [], deadLetters: [letter], checkpoint });
    } catch (err) {
      if (writeFailure(err) !== 'data') throw err;
      // The letter itself refused (some text no engine takes): its event's text as JSON, ASCII-safe.
      const plain = { ...letter, endpointId: null, requestId: null, event: storableText(JSON.stringify(m.value.slice(0, DEAD_LETTER_LIMITS.eventChars / 8)), DEAD_LETTER_LIMITS.eventChars) };
      await tsdb.writeIngestBatch({ predictions: [], errors: [], histograms: [], deadLetters: [plain], checkpoint });
    }
    this.unstorableEvents++;
    this.platform.logger.warn({ project: this.project, partition: m.partition, offset: m.offset, endpoint: letter.endpointId, reason: letter.reason }, 'dead-lettered an event that could not be stored');
    if (known && letter.endpointId !== null) {
      const bumps: Bumps = new Map();
      bump(bumps, letter.endpointId, now, true);
      await (await this.platform.endpointStoreFor(this.project)).bumpEndpoints(this.project, bumps);
      this.touched.add(letter.endpointId);
    }
  }

  /** Counts the stored batch's rows that came after their window was handed out (see late-events.ts); a failure costs the count, not the batch. */
  private async countLate(prepared: PreparedBatch): Promise<void> {
    try {
      this.lateRows += await recordLateRows(prepared.endpoints, this.project, prepared.windows, this.platform.clock.now());
    } catch (err) {
      this.platform.logger.warn({ project: this.project, err: errorMessage(err) }, 'could not count late predictions of a stored batch');
    }
  }

  /**
   * Parses fetched messages into their partitions' drafts, taking each out of `messages` as it
   * goes, so that a parsed event's text (flattened by the parse) is not kept to the end of the fetch.
   */
  private async parseChunk(tsdb: Tsdb, drafts: Map<number, PartitionDraft>, messages: (StreamMessage | undefined)[], periodMs: number, pipelined: boolean): Promise<void> {
    for (let k = 0; k < messages.length; k++) {
      const m = messages[k]!;
      messages[k] = undefined;
      let d = drafts.get(m.partition);
      if (d === undefined) {
        // Read fresh every batch: another processor may have owned this partition in between. (A
        // batch of this processor still being written may not be in it yet: its offsets are below
        // this batch's, and the write checks the checkpoint again in its transaction.)
        const done = await tsdb.getCheckpoint(this.consumer, m.partition);
        // Where the write will find the checkpoint: this processor's batch before this one when it
        // may still be in flight (read on this subscription), else what is stored.
        const seen = pipelined ? this.lastSeen.get(m.partition) : undefined;
        d = {
          partition: m.partition,
          done,
          after: (seen !== undefined && (done === undefined || compareOffsets(seen, done) > 0) ? seen : done) ?? null,
          deadLetters: [],
          last: m,
          predictions: new PredictionColumns(Math.min(this.batchSize, 2048)),
          errors: [],
          hist: new HistogramAccumulator(this.project, periodMs),
          bumps: new Map(),
        };
        drafts.set(m.partition, d);
      }
      d.last = m;
      if (pipelined) this.lastSeen.set(m.partition, m.offset);
      if (d.done !== undefined) {
        // Messages at or below the checkpoint were written before a crash and delivered again.
        // Offsets grow within a partition: once one is past the checkpoint, all after it are.
        if (compareOffsets(m.offset, d.done) <= 0) continue;
        d.done = undefined;
      }
      const raw = m.value;
      const parsed = this.events.parse(raw);
      if (!parsed.ok) {
        const ours = parsed.project === undefined || parsed.project === this.project;
        await this.refuse(d, m, parsed.error, ours ? parsed.endpointId : undefined, parsed.requestId);
        continue;
      }
      const e = parsed.event;
      if (e.project !== this.project) {
        await this.refuse(d, m, `event names project ${JSON.stringify(e.project.slice(0, 64))}, not '${this.project}' whose stream it is in`, undefined, e.request.id);
        continue;
      }
      // Known endpoints (nearly every event) are looked up without an await per event.
      const cached = this.known.get(e.endpointId);
      const ep = cached !== undefined && (cached.featureNames.length > 0 || e.error !== undefined) ? cached : await this.register(e);
      const t = parsed.time;
      if (e.error !== undefined) {
        d.errors.push({ project: this.project, endpointId: e.endpointId, time: t, requestId: wellFormed(e.request.id), error: e.error });
        bump(d.bumps, e.endpointId, t, true);
        continue;
      }
      const outputs = e.response?.outputs ?? [];
      const inputs = e.request.inputs;
      // Cut out by the parser when it read the event by position; else out of the text here.
      const texts = this.events.lastTexts ?? rowTexts(raw, inputs.length);
      const latencyUs = Math.round(e.latencyUs);
      // Stored as PostgreSQL and MySQL store it (SQLite would keep a lone surrogate's bytes).
      const requestId = wellFormed(e.request.id);
      const labels = e.labels ? toJson(e.labels) : null;
      // The place of the event's rows in their request, when the request came as several events.
      const firstRow = e.request.firstRow ?? 0;
      for (let i = 0; i < inputs.length; i++) {
        const row = inputs[i]!;
        const out = outputs[i];
        const outRow = out === undefined ? [] : Array.isArray(out) ? out : [out];
        // Stored as text (cut out of the event's own where it can be): nothing of the parsed event
        // is kept past this loop (see prediction-columns.ts).
        d.predictions.add(this.project, e.endpointId, t, latencyUs, requestId, firstRow + i, texts?.features[i] ?? toJson(row), texts?.outputs?.[i] ?? toJson(outRow), labels);
        d.hist.add(e.endpointId, t, ep, row, outRow);
      }
      bump(d.bumps, e.endpointId, t, false);
    }
  }

  /**
   * Refuses an event: a dead letter in its batch, and one more error of its endpoint when the
   * event names one that exists (`endpointId`: undefined when it names none of this project's).
   */
  private async refuse(d: PartitionDraft, m: StreamMessage, reason: string, endpointId: string | undefined, requestId: string | undefined): Promise<void> {
    const t = this.platform.clock.now();
    const letter = deadLetterOf(this.project, m, reason, endpointId, requestId, t);
    d.deadLetters.push(letter);
    this.invalidEvents++;
    if (letter.endpointId !== null && (await this.endpointExists(letter.endpointId))) bump(d.bumps, letter.endpointId, t, true);
    this.platform.logger.warn({ project: this.project, partition: m.partition, offset: m.offset, endpoint: letter.endpointId, reason: letter.reason }, 'dead-lettered an event');
  }

  private async basePeriodMs(): Promise<number> {
    const p = await this.platform.store.getProject(this.project);
    return (p?.monitoring?.basePeriodMinutes ?? 10) * 60_000;
  }

  private async endpointExists(id: string): Promise<boolean> {
    return this.known.has(id) || (await (await this.platform.endpointStoreFor(this.project)).getEndpoint(this.project, id)) !== undefined;
  }

  /** Registers the endpoint on first sight, taking reference stats from its logged model. */
  private async register(e: InferenceEvent): Promise<KnownEndpoint> {
    const cached = this.known.get(e.endpointId);
    if (cached) return e.error === undefined ? this.completeNames(e, cached) : cached;
    const store = await this.platform.endpointStoreFor(this.project);
    let rec = await store.getEndpoint(this.project, e.endpointId);
    if (!rec) {
      const model = e.modelUri ? await modelFromUri(this.platform, e.modelUri) : undefined;
      const width = e.request.inputs[0]?.length ?? 0;
      const outWidth = outputWidth(e);
      const now = this.platform.clock.now();
      const featureNames = e.featureNames?.length ? e.featureNames : model?.featureNames.length ? model.featureNames : generated('f', width);
      const labelNames = e.labelNames?.length ? e.labelNames : model?.labelNames.length ? model.labelNames : generated('p', outWidth);
      const fresh: EndpointRecord = {
        project: this.project,
        id: e.endpointId,
        name: e.version ? `${e.model}:${e.version}` : e.model,
        function: e.function,
        model: e.model,
        modelVersion: e.version ?? '',
        modelUri: e.modelUri ?? '',
        tag: e.tag ?? 'latest',
        featureNames,
        labelNames,
        featureStats: model?.featureStats ?? {},
        currentStats: {},
        firstRequest: null,
        lastRequest: null,
        errorCount: 0,
        driftStatus: 'unknown',
        driftMeasures: {},
        monitoringMode: 'enabled',
        labels: e.labels ?? {},
        metrics: { predictions5m: 0, predictions1h: 0, latencyAvg5mUs: null, latencyAvg1hUs: null, predictionsPerSecond: 0 },
        latePredictions: 0,
        createdAt: now,
        updatedAt: now,
      };
      if (await store.createEndpointIfMissing(fresh)) {
        this.platform.logger.info({ project: this.project, endpoint: fresh.id, model: fresh.name }, 'registered model endpoint');
      }
      rec = (await store.getEndpoint(this.project, e.endpointId)) ?? fresh;
    }
    const known = { featureNames: rec.featureNames, labelNames: rec.labelNames, featureStats: rec.featureStats };
    this.known.set(e.endpointId, known);
    return e.error === undefined ? this.completeNames(e, known) : known;
  }

  /** An endpoint first seen through an error event learns its names from its first prediction. */
  private async completeNames(e: InferenceEvent, known: KnownEndpoint): Promise<KnownEndpoint> {
    if (known.featureNames.length > 0 || (e.request.inputs[0]?.length ?? 0) === 0) return known;
    const featureNames = e.featureNames?.length ? e.featureNames : generated('f', e.request.inputs[0]!.length);
    const labelNames = known.labelNames.length ? known.labelNames : e.labelNames?.length ? e.labelNames : generated('p', outputWidth(e));
    await (await this.platform.endpointStoreFor(this.project)).patchEndpoint(this.project, e.endpointId, { featureNames, labelNames });
    const updated = { ...known, featureNames, labelNames };
    this.known.set(e.endpointId, updated);
    return updated;
  }

  /** Recomputes the live metrics (5 min / 1 h counts and latency) of the endpoints touched. */
  private async refreshMetrics(onlyIfDue: boolean): Promise<void> {
    const now = this.platform.clock.now();
    if (this.touched.size === 0 || (onlyIfDue && now - this.lastMetricsAt < this.metricsIntervalMs)) return;
    this.lastMetricsAt = now;
    try {
      const tsdb = await this.platform.tsdbFor(this.project);
      const endpoints = await this.platform.endpointStoreFor(this.project);
      // One query for the three windows: 5 minutes, 1 hour and the last minute (for the rate).
      const summaries = await tsdb.predictionSummaries(this.project, [now - 5 * 60_000, now - 60 * 60_000, now - 60_000]);
      const byId = new Map(summaries.map((x) => [x.endpointId, x]));
      const ids = [...this.touched];
      this.touched.clear();
      for (const id of ids) {
        const x = byId.get(id);
        await endpoints.patchEndpoint(this.project, id, {
          metrics: {
            predictions5m: x?.counts[0] ?? 0,
            predictions1h: x?.counts[1] ?? 0,
            latencyAvg5mUs: x?.latencyAvgUs[0] ?? null,
            latencyAvg1hUs: x?.latencyAvgUs[1] ?? null,
            predictionsPerSecond: (x?.counts[2] ?? 0) / 60,
          },
          updatedAt: now,
        });
      }
    } catch (err) {
      this.platform.logger.warn({ err: errorMessage(err) }, 'could not refresh live endpoint metrics');
    }
  }

  /** Forces the live metrics out now (drains and tests). */
  async flush(): Promise<void> {
    await this.refreshMetrics(false);
  }

  async close(): Promise<void> {
    await this.sub?.close();
    this.sub = undefined;
  }
}

function bump(m: Bumps, id: string, t: number, isError: boolean): void {
  const b = m.get(id);
  if (!b) m.set(id, { errors: isError ? 1 : 0, firstRequest: t, lastRequest: t });
  else {
    if (isError) b.errors++;
    b.firstRequest = Math.min(b.firstRequest, t);
    b.lastRequest = Math.max(b.lastRequest, t);
  }
}

/** Whether `s` is a value of a `max`-character column. */
function fitsColumn(s: string, max: number): boolean {
  return s !== '' && columnTextProblem('', s, max) === undefined;
}

/** The dead letter of message `m`, its ids kept where they fit their columns. */
function deadLetterOf(project: string, m: StreamMessage, reason: string, endpointId: string | undefined, requestId: string | undefined, time: number): DeadLetterRow {
  return {
    project,
    endpointId: endpointId !== undefined && endpointId !== '' && nameProblem('', endpointId, EVENT_LIMITS.endpointIdChars) === undefined ? endpointId : null,
    requestId: requestId !== undefined && fitsColumn(requestId, EVENT_LIMITS.requestIdChars) ? wellFormed(requestId) : null,
    partition: m.partition,
    offset: m.offset,
    time,
    reason: storableText(reason, DEAD_LETTER_LIMITS.reasonChars),
    event: storableText(m.value, DEAD_LETTER_LIMITS.eventChars),
    eventChars: m.value.length,
  };
}

function generated(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

function outputWidth(e: InferenceEvent): number {
  const o = e.response?.outputs?.[0];
  return o === undefined ? 0 : Array.isArray(o) ? o.length : 1;
}

async function modelFromUri(platform: Platform, uri: string) {
  const m = /^store:\/\/models\/([^/]+)\/([^:]+)(?::(.+))?$/.exec(uri);
  if (!m) return undefined;
  return platform.store.getModel(m[1]!, m[2]!, m[3] ?? 'latest');
}

export { windowStartOf };
