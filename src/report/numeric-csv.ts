/**
 * A fast reader for CSV files whose every cell is a number or missing, straight from bytes
 * into Float64Array columns (no strings per cell, no row objects). It reads the same values as
 * the general reader (`data/tabular-files.ts`: csv-parse, then plain decimal numbers) and gives
 * up — returning undefined — at the first cell it cannot take (quotes, text, ragged rows), so
 * the caller falls back to the general reader.
 *
 * Numbers with at most 15 significant digits and a decimal exponent within ±22 are converted
 * with one correctly rounded multiplication or division (Clinger's fast path), which equals
 * `Number(text)`; anything else goes through `Number(text)`.
 */
import { open } from 'node:fs/promises';
import { coerceValue, MISSING } from '../stats/values.ts';

/** Columns read by {@link readNumericCsv}: missing cells are NaN. */
export interface NumericCsv {
  names: string[];
  columns: Record<string, Float64Array>;
  rowCount: number;
}

/** Options of {@link readNumericCsv}. */
export interface NumericCsvOptions {
  /** Called after each chunk with bytes read so far and the file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Chunk size in bytes (default 8 MiB). */
  chunkSize?: number;
}

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SPACE = 0x20;
const TAB = 0x09;

/** Signals a cell the fast path cannot read. */
class NotNumeric extends Error {}

/**
 * Reads a CSV file with a header row into Float64Array columns, or resolves undefined when
 * some cell is not a plain number, empty, or a missing-value token (`NA`, `nan`, `inf`, ...),
 * or the file has quotes, ragged rows or duplicate names.
 */
export async function readNumericCsv(path: string, opts: NumericCsvOptions = {}): Promise<NumericCsv | undefined> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    let buf = Buffer.allocUnsafe(Math.max(1 << 16, opts.chunkSize ?? 8 << 20));
    let filled = 0;
    let read = 0;
    let parser: RowParser | undefined;
    for (;;) {
      if (filled === buf.length) {
        // A line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, read);
      read += bytesRead;
      filled += bytesRead;
      const eof = bytesRead === 0;
      let start = 0;
      if (!parser) {
        const nl = buf.indexOf(LF, 0);
        if (nl < 0 || nl >= filled) {
          if (!eof) continue;
          return undefined;
        }
        const names = parseHeader(buf, 0, nl);
        if (!names) return undefined;
        parser = new RowParser(names, estimateRows(buf, nl + 1, filled, size - nl - 1));
        start = nl + 1;
      }
      if (eof && filled > start && buf[filled - 1] !== LF) {
        // The last line has no newline: add one (the parser needs every line to end with LF).
        if (filled === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length + 1);
          buf.copy(bigger, 0, 0, filled);
          buf = bigger;
        }
        buf[filled++] = LF;
      }
      // Complete lines only; the tail waits for the next chunk.
      // (lastIndexOf with a negative offset would count from the end of the whole buffer.)
      let end = filled > start ? buf.lastIndexOf(LF, filled - 1) + 1 : start;
      if (end < start) end = start;
      try {
        parser.parseLines(buf, start, end);
      } catch (err) {
        if (err instanceof NotNumeric) return undefined;
        throw err;
      }
      opts.onProgress?.(read, size);
      if (eof) break;
      buf.copy(buf, 0, end, filled);
      filled -= end;
    }
    return parser.finish();
  } finally {
    await fh.close();
  }
}

/** Rows the file will hold, from the mean line length in the first chunk (5% spare; grown on demand). */
function estimateRows(buf: Buffer, start: number, filled: number, dataBytes: number): number {
  let lines = 0;
  let last = start;
  for (let i = buf.indexOf(LF, start); i >= 0 && i < filled; i = buf.indexOf(LF, i + 1)) {
    lines++;
    last = i + 1;
  }
  if (lines === 0) return 1024;
  return Math.ceil((dataBytes / ((last - start) / lines)) * 1.05) + 16;
}

/** Header names as the general reader names them (empty → `Unnamed: i`), or undefined (quotes, duplicates). */
function parseHeader(buf: Buffer, start: number, end: number): string[] | undefined {
  let s = buf.toString('utf8', start, end);
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  if (s.endsWith('\r')) s = s.slice(0, -1);
  if (s.includes('"')) return undefined;
  const names = s.split(',').map((h, i) => (h.trim() === '' ? `Unnamed: ${i}` : h));
  if (new Set(names).size !== names.length || names.includes('__proto__')) return undefined;
  return names;
}

/** Parses lines of numeric cells into growable columns. */
class RowParser {
  private readonly cols: Float64Array[];
  private capacity: number;
  private rows = 0;

  constructor(
    private readonly names: string[],
    capacity: number,
  ) {
    this.capacity = capacity;
    this.cols = names.map(() => new Float64Array(capacity));
  }

  /** Parses the lines in `buf[start, end)`; `buf[end - 1]` must be LF. */
  parseLines(buf: Buffer, start: number, end: number): void {
    const width = this.names.length;
    const last = width - 1;
    const cols = this.cols;
    let i = start;
    while (i < end) {
      const lineEnd = buf.indexOf(LF, i);
      let stop = lineEnd;
      if (stop > i && buf[stop - 1] === CR) stop--;
      if (stop > i) {
        if (this.rows === this.capacity) this.grow();
        const row = this.rows;
        let p = i;
        for (let c = 0; c < width; c++) {
          (cols[c] as Float64Array)[row] = parseField(buf, p);
          p = cursor;
          if (c < last) {
            if (buf[p] !== COMMA) throw new NotNumeric();
            p++;
          } else if (p !== stop) throw new NotNumeric();
        }
        this.rows++;
      }
      i = lineEnd + 1;
    }
  }

  finish(): NumericCsv {
    const columns: Record<string, Float64Array> = {};
    this.names.forEach((n, c) => {
      columns[n] = (this.cols[c] as Float64Array).subarray(0, this.rows);
    });
    return { names: this.names, columns, rowCount: this.rows };
  }

  private grow(): void {
    const next = Math.ceil(this.capacity * 1.5);
    for (let c = 0; c < this.cols.length; c++) {
      const bigger = new Float64Array(next);
      bigger.set(this.cols[c] as Float64Array);
      this.cols[c] = bigger;
    }
    this.capacity = next;
  }
}

/** Where {@link parseField} stopped: the comma after the cell, or the end of the line. */
let cursor = 0;

/**
 * Parses the cell starting at `p` in one pass over its bytes and leaves {@link cursor} on
 * the comma or line end after it. The line must end with LF inside `buf` (the reader makes
 * sure), so no bounds checks are needed. Plain decimal numbers with at most 15 significant
 * digits take the exact fast path; any other cell (exponents, spaces, tokens, long
 * mantissas) goes through {@link parseCell}.
 */
function parseField(buf: Uint8Array, p: number): number {
  let i = p;
  let ch = buf[i] as number;
  let negative = false;
  if (ch === 0x2d) {
    negative = true;
    ch = buf[++i] as number;
  }
  let mantissa = 0;
  let significant = 0;
  let scale = 0;
  let digits = 0;
  while (ch >= 0x30 && ch <= 0x39) {
    if (mantissa !== 0 || ch !== 0x30) {
      mantissa = mantissa * 10 + (ch - 0x30);
      significant++;
    }
    digits++;
    ch = buf[++i] as number;
  }
  if (ch === 0x2e) {
    ch = buf[++i] as number;
    while (ch >= 0x30 && ch <= 0x39) {
      if (mantissa !== 0 || ch !== 0x30) {
        mantissa = mantissa * 10 + (ch - 0x30);
        significant++;
      }
      scale++;
      digits++;
      ch = buf[++i] as number;
    }
  }
  if (digits === 0 || significant > 15 || scale > 22 || (ch !== COMMA && ch !== LF && ch !== CR)) return slowField(buf, p);
  cursor = i;
  const value = scale === 0 ? mantissa : mantissa / (POW10[scale] as number);
  return negative ? -value : value;
}

function slowField(buf: Uint8Array, p: number): number {
  let e = p;
  for (let ch = buf[e] as number; ch !== COMMA && ch !== LF && ch !== CR; ch = buf[++e] as number);
  cursor = e;
  return parseCell(buf, p, e);
}

/**
 * One cell as the general reader would read it: a plain decimal number (spaces around it
 * allowed), NaN for an empty cell or a missing-value token; throws NotNumeric otherwise.
 */
export function parseCell(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let e = end;
  while (i < e && (buf[i] === SPACE || buf[i] === TAB)) i++;
  while (e > i && (buf[e - 1] === SPACE || buf[e - 1] === TAB)) e--;
  if (i === e) return Number.NaN;
  const begin = i;
  let negative = false;
  let ch = buf[i] as number;
  if (ch === 0x2d || ch === 0x2b) {
    negative = ch === 0x2d;
    i++;
  }
  let mantissa = 0;
  let significant = 0;
  let exp10 = 0;
  let digits = 0;
  while (i < e && (ch = (buf[i] as number) - 0x30) >= 0 && ch <= 9) {
    if (mantissa !== 0 || ch !== 0) {
      mantissa = mantissa * 10 + ch;
      significant++;
    }
    digits++;
    i++;
  }
  if (i < e && buf[i] === 0x2e) {
    i++;
    while (i < e && (ch = (buf[i] as number) - 0x30) >= 0 && ch <= 9) {
      if (mantissa !== 0 || ch !== 0) {
        mantissa = mantissa * 10 + ch;
        significant++;
      }
      exp10--;
      digits++;
      i++;
    }
  }
  if (digits === 0) return other(buf, begin, e);
  if (i < e && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    let expNegative = false;
    if (i < e && (buf[i] === 0x2d || buf[i] === 0x2b)) {
      expNegative = buf[i] === 0x2d;
      i++;
    }
    let exp = 0;
    let expDigits = 0;
    while (i < e && (ch = (buf[i] as number) - 0x30) >= 0 && ch <= 9) {
      if (exp < 100000) exp = exp * 10 + ch;
      expDigits++;
      i++;
    }
    if (expDigits === 0) return other(buf, begin, e);
    exp10 += expNegative ? -exp : exp;
  }
  if (i !== e) return other(buf, begin, e);
  if (mantissa === 0) return negative ? -0 : 0;
  let value: number;
  if (significant <= 15 && exp10 >= -22 && exp10 <= 22) {
    value = exp10 >= 0 ? mantissa * (POW10[exp10] as number) : mantissa / (POW10[-exp10] as number);
  } else {
    value = Number(latin1(buf, begin, e));
    // Sign is part of the text here.
    negative = false;
  }
  if (negative) value = -value;
  // Overflow to ±Infinity is missing, as in the general reader.
  return value - value === 0 ? value : Number.NaN;
}

/** A cell that is not a plain number: a missing-value token reads as NaN, anything else ends the fast path. */
function other(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === QUOTE || (buf[i] as number) >= 0x80) throw new NotNumeric();
  if (coerceValue(latin1(buf, start, end)) === MISSING) return Number.NaN;
  throw new NotNumeric();
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}
