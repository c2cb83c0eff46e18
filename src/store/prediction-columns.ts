import type { Insertable } from 'kysely';
import { toJson } from './codec.ts';
import type { Database } from './schema.ts';
import type { PredictionRow } from './tsdb-port.ts';

/*
 * A batch's predictions as columns: the numbers of every row in one Float64Array, their texts
 * (request id, features JSON, outputs JSON, labels JSON) in a few strings with each one's length,
 * project and endpoint ids once each. The stream processor builds its batches this way, the SQLite
 * writer thread receives them this way (a structured clone of a few arrays and strings instead of
 * thousands of objects), and the other writers read rows out of them.
 *
 * Why the stream processor does not build a `PredictionRow` per row: a batch takes some 100 ms to
 * parse, longer than the young generation takes to fill, so every row object, and the event text
 * its features JSON was cut out of (a slice keeps its whole parent string alive), survived one or
 * two scavenges and was copied each time. Measured in the ingest benchmark: about 2.4 KB copied
 * per event, scavenges 12% of the consumer's main thread plus a core's worth of the GC's helper
 * threads. Here the numbers sit outside the heap, and the texts of every {@link CHUNK_ROWS} rows
 * are joined into one new string, so the event texts die young.
 */

/** Numbers per row in {@link PackedPredictions.nums}: project index, endpoint index, time, latency (µs, rounded), row index. */
const NUMS = 5;
/** Texts per row: request id, features JSON, outputs JSON, labels JSON (length -1: null). */
const TEXTS = 4;
/** Rows whose texts are joined into one string of {@link PackedPredictions.text}. */
const CHUNK_ROWS = 256;

/** {@link PredictionColumns} as plain data (what is posted to a thread). */
export interface PackedPredictions {
  rows: number;
  projects: string[];
  endpoints: string[];
  /** {@link NUMS} numbers per row. */
  nums: Float64Array;
  /** {@link TEXTS} lengths per row. */
  lens: Int32Array;
  /** The rows' texts, in order, in consecutive strings (a text never spans two). */
  text: string[];
}

/**
 * The fields of one row as read from the columns: a {@link PredictionRow}'s scalars (latency
 * rounded to whole microseconds, as stored) and its texts as stored (labels as JSON, or null).
 */
export type PredictionColumnRow = Pick<PredictionRow, 'project' | 'endpointId' | 'time' | 'latencyUs' | 'requestId' | 'rowIndex'> & {
  featuresJson: string;
  outputsJson: string;
  labelsJson: string | null;
};

/** Reads a {@link PredictionColumns}' rows in order (see `PredictionColumns.cursor`). */
export interface ColumnCursor {
  /** Fills `row` (reused: copy what is kept) with the next row; false once every row was read. */
  next(row: PredictionColumnRow): boolean;
  /** True when no text of the row last read holds a character of the cursor's `special` (false without one, or when unsure). */
  plain: boolean;
}

/** A row for {@link ColumnCursor.next} to fill. */
export function emptyColumnRow(): PredictionColumnRow {
  return { project: '', endpointId: '', time: 0, latencyUs: 0, requestId: '', rowIndex: 0, featuresJson: '', outputsJson: '', labelsJson: null };
}

/** Predictions as columns (see above): appended to with {@link add}, read with {@link forEach}. */
export class PredictionColumns {
  private n = 0;
  private readonly projects: string[];
  private readonly endpoints: string[];
  private readonly projectIndex = new Map<string, number>();
  private readonly endpointIndex = new Map<string, number>();
  private lastEndpoint = '';
  private lastEndpointIndex = -1;
  private nums: Float64Array;
  private lens: Int32Array;
  private readonly text: string[];
  /** Texts of the rows since the last joined chunk. */
  private parts: string[] = [];

  constructor(capacity = 1024, packed?: PackedPredictions) {
    if (packed) {
      checkPacked(packed);
      this.n = packed.rows;
      this.projects = packed.projects;
      this.endpoints = packed.endpoints;
      this.nums = packed.nums;
      this.lens = packed.lens;
      this.text = packed.text;
      return;
    }
    this.projects = [];
    this.endpoints = [];
    this.text = [];
    const c = Math.max(16, Math.trunc(capacity));
    this.nums = new Float64Array(c * NUMS);
    this.lens = new Int32Array(c * TEXTS);
  }

  /** Columns over packed data (as posted to a thread), without copying it. @throws when the columns do not add up. */
  static fromPacked(packed: PackedPredictions): PredictionColumns {
    return new PredictionColumns(0, packed);
  }

  /** Columns holding `rows`. */
  static fromRows(rows: readonly PredictionRow[]): PredictionColumns {
    const c = new PredictionColumns(rows.length);
    for (const p of rows) {
      const labels = p.labels === undefined || p.labels === null ? null : toJson(p.labels);
      c.add(p.project, p.endpointId, p.time, p.latencyUs, p.requestId, p.rowIndex, p.featuresJson ?? toJson(p.features), p.outputsJson ?? toJson(p.outputs), labels);
    }
    return c;
  }

  get length(): number {
    return this.n;
  }

  /** Appends a row; `latencyUs` is stored rounded. */
  add(
    project: string,
    endpointId: string,
    time: number,
    latencyUs: number,
    requestId: string,
    rowIndex: number,
    featuresJson: string,
    outputsJson: string,
    labelsJson: string | null,
  ): void {
    if (this.n * NUMS === this.nums.length) this.grow();
    const o = this.n * NUMS;
    this.nums[o] = this.indexOf(this.projects, this.projectIndex, project);
    if (endpointId !== this.lastEndpoint || this.lastEndpointIndex < 0) {
      this.lastEndpointIndex = this.indexOf(this.endpoints, this.endpointIndex, endpointId);
      this.lastEndpoint = endpointId;
    }
    this.nums[o + 1] = this.lastEndpointIndex;
    this.nums[o + 2] = time;
    this.nums[o + 3] = Math.round(latencyUs);
    this.nums[o + 4] = rowIndex;
    const t = this.n * TEXTS;
    this.lens[t] = requestId.length;
    this.lens[t + 1] = featuresJson.length;
    this.lens[t + 2] = outputsJson.length;
    this.lens[t + 3] = labelsJson === null ? -1 : labelsJson.length;
    const parts = this.parts;
    parts.push(requestId, featuresJson, outputsJson);
    if (labelsJson !== null) parts.push(labelsJson);
    this.n += 1;
    if (this.n % CHUNK_ROWS === 0) this.joinParts();
  }

  /** Calls `fn` with each row in order. The row object is reused: copy what is kept. */
  forEach(fn: (row: PredictionColumnRow, i: number) => void): void {
    const cursor = this.cursor();
    const row = emptyColumnRow();
    for (let i = 0; cursor.next(row); i++) fn(row, i);
  }

  /** Calls `fn` with the scalars of each row in order (no text is read). */
  forEachScalar(fn: (project: string, endpointId: string, time: number, latencyUs: number) => void): void {
    const { nums, projects, endpoints } = this;
    for (let o = 0; o < this.n * NUMS; o += NUMS) fn(projects[nums[o]!]!, endpoints[nums[o + 1]!]!, nums[o + 2]!, nums[o + 3]!);
  }

  /**
   * Reads the rows in order, one per `next`, so that a reader can stop and go on later (the rows
   * of a COPY are made a chunk at a time, as the connection takes them). With `special`, the cursor
   * also tells whether the texts of the row last read may hold a character it matches: tested once
   * per joined string of {@link CHUNK_ROWS} rows, so that rows of plain text need no test of their own.
   */
  cursor(special?: RegExp): ColumnCursor {
    this.joinParts();
    const { nums, lens, text, projects, endpoints, n } = this;
    let chunk = 0;
    let s = text[0] ?? '';
    let plain = special === undefined ? false : !special.test(s);
    let pos = 0;
    let i = 0;
    let rowPlain = true;
    const next = (len: number): string => {
      // A text never spans two chunks: one that would start at a chunk's end starts the next chunk.
      while (pos === s.length && len > 0 && chunk + 1 < text.length) {
        s = text[++chunk]!;
        pos = 0;
        if (special !== undefined) plain = !special.test(s);
      }
      if (len > 0) rowPlain &&= plain;
      const v = s.slice(pos, pos + len);
      pos += len;
      return v;
    };
    const cursor: ColumnCursor = {
      plain: false,
      next(row: PredictionColumnRow): boolean {
        if (i >= n) return false;
        const o = i * NUMS;
        const t = i * TEXTS;
        row.project = projects[nums[o]!]!;
        row.endpointId = endpoints[nums[o + 1]!]!;
        row.time = nums[o + 2]!;
        row.latencyUs = nums[o + 3]!;
        row.rowIndex = nums[o + 4]!;
        rowPlain = true;
        row.requestId = next(lens[t]!);
        row.featuresJson = next(lens[t + 1]!);
        row.outputsJson = next(lens[t + 2]!);
        const labels = lens[t + 3]!;
        row.labelsJson = labels < 0 ? null : next(labels);
        cursor.plain = special !== undefined && rowPlain;
        i += 1;
        return true;
      },
    };
    return cursor;
  }

  /** The rows as `PredictionRow`s (texts in `featuresJson`/`outputsJson`, `features`/`outputs` left empty). */
  toRows(): PredictionRow[] {
    const out = new Array<PredictionRow>(this.n);
    this.forEach((r, i) => {
      out[i] = {
        project: r.project,
        endpointId: r.endpointId,
        time: r.time,
        latencyUs: r.latencyUs,
        requestId: r.requestId,
        rowIndex: r.rowIndex,
        features: [],
        outputs: [],
        featuresJson: r.featuresJson,
        outputsJson: r.outputsJson,
        labels: r.labelsJson === null ? null : (JSON.parse(r.labelsJson) as Record<string, string>),
      };
    });
    return out;
  }

  /** The rows as `predictions` table rows. */
  toInsertRows(): Insertable<Database['predictions']>[] {
    const out = new Array<Insertable<Database['predictions']>>(this.n);
    this.forEach((r, i) => {
      out[i] = {
        project: r.project,
        endpoint_id: r.endpointId,
        time: r.time,
        latency_us: r.latencyUs,
        request_id: r.requestId,
        row_index: r.rowIndex,
        features: r.featuresJson,
        outputs: r.outputsJson,
        labels: r.labelsJson,
      };
    });
    return out;
  }

  /** As plain data, sharing this object's arrays (trimmed to the rows held). */
  packed(): PackedPredictions {
    this.joinParts();
    return {
      rows: this.n,
      projects: this.projects,
      endpoints: this.endpoints,
      nums: this.nums.length === this.n * NUMS ? this.nums : this.nums.slice(0, this.n * NUMS),
      lens: this.lens.length === this.n * TEXTS ? this.lens : this.lens.slice(0, this.n * TEXTS),
      text: this.text,
    };
  }

  private indexOf(list: string[], index: Map<string, number>, value: string): number {
    let j = index.get(value);
    if (j === undefined) {
      j = list.push(value) - 1;
      index.set(value, j);
    }
    return j;
  }

  private grow(): void {
    const nums = new Float64Array(this.nums.length * 2);
    nums.set(this.nums);
    this.nums = nums;
    const lens = new Int32Array(this.lens.length * 2);
    lens.set(this.lens);
    this.lens = lens;
  }

  private joinParts(): void {
    if (this.parts.length === 0) return;
    this.text.push(this.parts.join(''));
    this.parts = [];
  }
}

/** Either form of a batch's predictions. */
export type Predictions = readonly PredictionRow[] | PredictionColumns;

/** The predictions as `PredictionRow`s. */
export function predictionRows(p: Predictions): readonly PredictionRow[] {
  return p instanceof PredictionColumns ? p.toRows() : p;
}

function checkPacked(p: PackedPredictions): void {
  const ok =
    Number.isInteger(p.rows) &&
    p.rows >= 0 &&
    p.nums instanceof Float64Array &&
    p.lens instanceof Int32Array &&
    p.nums.length === p.rows * NUMS &&
    p.lens.length === p.rows * TEXTS &&
    Array.isArray(p.text) &&
    Array.isArray(p.projects) &&
    Array.isArray(p.endpoints);
  if (!ok) throw new Error(`packed predictions of ${String(p.rows)} rows have columns of the wrong length`);
  let chars = 0;
  for (const s of p.text) chars += s.length;
  let total = 0;
  for (let i = 0; i < p.lens.length; i++) total += Math.max(0, p.lens[i]!);
  if (total !== chars) throw new Error(`packed predictions of ${p.rows} rows hold ${chars} characters of text where their lengths add up to ${total}`);
  for (let i = 0; i < p.rows; i++) {
    const pj = p.nums[i * NUMS]!;
    const ep = p.nums[i * NUMS + 1]!;
    if (p.projects[pj] === undefined || p.endpoints[ep] === undefined) throw new Error(`packed predictions: row ${i} names a project or endpoint that is not listed`);
  }
}
