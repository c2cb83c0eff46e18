/*
 * The JSON text of each row's features and outputs, cut out of the event's own text instead of
 * encoding the parsed rows again (on the ingest path that re-encoding was about a tenth of the
 * stream processor's time). Only for the layout that serving's EventEncoder and
 * `JSON.stringify(buildInferenceEvent(...))` write — `{"v":1,"endpointId":"…",…,"request":{"id":"…",
 * "inputs":[[…],…]},"response":{"outputs":[…]}…` — and only for rows of plain values (numbers,
 * null, true, false): anything else (strings, nested lists or objects, white space, another key
 * order) gets undefined and is encoded from the parsed rows as before. The text cut out is the
 * JSON of the same values the parse produced.
 */

const HEAD = '{"v":1,"endpointId":"';
const REQUEST = '"request":{"id":"';
const INPUTS = ',"inputs":[';
const OUTPUTS = ',"response":{"outputs":[';

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN = 91; // [
const CLOSE = 93; // ]
const END = 125; // }
const COMMA = 44;

/** Per row: the features' JSON text and the outputs' (as the stored list: a single output becomes `[x]`). */
export interface RowTexts {
  features: string[];
  /** Absent when they could not be cut out (or the event has no response): the caller encodes them. */
  outputs?: string[];
}

/**
 * Cuts the rows out of an event's text; `rows` is how many input rows its parse found.
 * @returns undefined when the text is not in the layout above (the caller encodes the rows itself).
 */
export function rowTexts(raw: string, rows: number): RowTexts | undefined {
  if (!raw.startsWith(HEAD)) return undefined;
  // Every field before `request` is a string or a number, and a quote inside a string is escaped:
  // the first `"request":{"id":"` is the request's.
  let i = raw.indexOf(REQUEST, HEAD.length);
  if (i < 0) return undefined;
  i = afterString(raw, i + REQUEST.length);
  if (i < 0 || !raw.startsWith(INPUTS, i)) return undefined;
  i += INPUTS.length;
  // The rows hold plain values when they all end before the next quote or brace (native scans).
  const read = readLists(raw, i, plainUntil(raw, i));
  if (read === undefined || read.texts.length !== rows || raw.charCodeAt(read.next) !== END) return undefined;
  const features = read.texts;
  i = read.next + 1;
  if (!raw.startsWith(OUTPUTS, i)) return { features };
  i += OUTPUTS.length;
  const outputs = readOutputs(raw, i, plainUntil(raw, i));
  return outputs !== undefined && outputs.texts.length === rows ? { features, outputs: outputs.texts } : { features };
}

/**
 * The lists from `i` (the first one's `[`) to the `]` closing the list that holds them: each one's
 * text, and the index after that `]`. Undefined unless each is a flat list of plain values ending
 * before `limit`.
 */
function readLists(raw: string, i: number, limit: number): { texts: string[]; next: number } | undefined {
  const texts: string[] = [];
  for (;;) {
    if (raw.charCodeAt(i) !== OPEN) return undefined;
    const close = flatListEnd(raw, i, limit);
    if (close < 0) return undefined;
    texts.push(raw.slice(i, close + 1));
    i = close + 1;
    const c = raw.charCodeAt(i++);
    if (c === CLOSE) return { texts, next: i };
    if (c !== COMMA) return undefined;
  }
}

/** {@link readLists} for outputs, which may also be plain values: each one's text as a stored list (`x` becomes `[x]`). */
function readOutputs(raw: string, i: number, limit: number): { texts: string[]; next: number } | undefined {
  const texts: string[] = [];
  for (;;) {
    if (raw.charCodeAt(i) === OPEN) {
      const close = flatListEnd(raw, i, limit);
      if (close < 0) return undefined;
      texts.push(raw.slice(i, close + 1));
      i = close + 1;
    } else {
      const stop = scalarEnd(raw, i, limit);
      if (stop <= i) return undefined;
      texts.push(`[${raw.slice(i, stop)}]`);
      i = stop;
    }
    const c = raw.charCodeAt(i++);
    if (c === CLOSE) return { texts, next: i };
    if (c !== COMMA) return undefined;
  }
}

/** Index just past the closing quote of a JSON string whose opening quote is before `from`; -1 if none. */
function afterString(raw: string, from: number): number {
  for (let i = from; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** The first quote or brace at or after `from`: no string or object starts before it. */
function plainUntil(raw: string, from: number): number {
  const q = raw.indexOf('"', from);
  const b = raw.indexOf('{', from);
  return Math.min(q < 0 ? raw.length : q, b < 0 ? raw.length : b);
}

/** Index of the `]` closing the list that opens at `open`, when it holds only plain values (before `limit`, nothing nested); else -1. */
function flatListEnd(raw: string, open: number, limit: number): number {
  const end = raw.indexOf(']', open + 1);
  if (end < 0 || end >= limit) return -1;
  const nested = raw.indexOf('[', open + 1);
  return nested >= 0 && nested < end ? -1 : end;
}

/** Index just past a plain value (number, null, true, false) starting at `from`, or -1. */
function scalarEnd(raw: string, from: number, limit: number): number {
  const comma = raw.indexOf(',', from);
  const close = raw.indexOf(']', from);
  const end = comma >= 0 && comma < close ? comma : close;
  if (end < 0 || end >= limit) return -1;
  const nested = raw.indexOf('[', from);
  return nested >= 0 && nested < end ? -1 : end;
}

/** An event's own part (see {@link readMiddle}), as texts. */
export interface MiddleTexts {
  when: string;
  /** The latency's JSON number text. */
  latency: string;
  requestId: string;
  /** Each input row's JSON text, in order. */
  features: string[];
  /** The outputs list's JSON text, when the event has a response. */
  outputsList?: string;
  /** Each output's JSON text as a stored list (a single output `x` becomes `[x]`), when the event has a response. */
  outputs?: string[];
}

const LATENCY = '","latencyUs":';
const REQUEST_ID = ',"request":{"id":"';
const ID_END = '","inputs":[';

/**
 * The request's own fields of an event laid out as serving's EventEncoder writes it, from just
 * after `"when":"` (`from`) to where the endpoint's names begin (`end`):
 * `<when>","latencyUs":<number>,"request":{"id":"<id>","inputs":[<rows>]}` and optionally
 * `,"response":{"outputs":[<outputs>]}`, nothing else. The time and id must hold no escape or control
 * character (their text is then their value) and rows and outputs only plain values.
 * @returns undefined for anything else (the caller parses the text whole).
 */
export function readMiddle(raw: string, from: number, end: number): MiddleTexts | undefined {
  const q = raw.indexOf('"', from);
  if (q < 0 || q >= end || !raw.startsWith(LATENCY, q)) return undefined;
  const when = raw.slice(from, q);
  let i = q + LATENCY.length;
  const c = raw.indexOf(',', i);
  if (c < 0 || c >= end || !raw.startsWith(REQUEST_ID, c)) return undefined;
  const latency = raw.slice(i, c);
  i = c + REQUEST_ID.length;
  const idEnd = raw.indexOf('"', i);
  if (idEnd < 0 || idEnd >= end || !raw.startsWith(ID_END, idEnd)) return undefined;
  const requestId = raw.slice(i, idEnd);
  if (!plainText(when) || !plainText(requestId)) return undefined;
  i = idEnd + ID_END.length;
  const read = readLists(raw, i, Math.min(plainUntil(raw, i), end));
  if (read === undefined || raw.charCodeAt(read.next) !== END) return undefined;
  const features = read.texts;
  i = read.next + 1;
  if (i === end) return { when, latency, requestId, features };
  if (!raw.startsWith(OUTPUTS, i)) return undefined;
  i += OUTPUTS.length;
  const outputs = readOutputs(raw, i, Math.min(plainUntil(raw, i), end));
  if (outputs === undefined || raw.charCodeAt(outputs.next) !== END || outputs.next + 1 !== end) return undefined;
  return { when, latency, requestId, features, outputsList: raw.slice(i - 1, outputs.next), outputs: outputs.texts };
}

/** Text a JSON string holds as it is: no escape and no control character. */
function plainText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 0x20 || ch === BACKSLASH) return false;
  }
  return true;
}

/** 10^0 … 10^22: every one exactly a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * `JSON.parse(text)` of a row's text as `readMiddle` and `rowTexts` cut it out (a flat list of
 * plain values), with plain decimal numbers read here: a number of at most 15 significant digits
 * and 22 decimals is its digits as an integer divided by a power of ten, both exact doubles, so the
 * one correctly rounded division gives the double JSON.parse gives (the fast path of every strtod).
 * Anything else (null, true, false, an exponent, more digits, white space, bad JSON) goes to
 * JSON.parse, which also throws what it throws.
 */
export function parseRow(text: string): unknown[] {
  const end = text.length - 1;
  if (end < 2 || text.charCodeAt(0) !== OPEN || text.charCodeAt(end) !== CLOSE) return JSON.parse(text) as unknown[];
  const out: number[] = [];
  let i = 1;
  for (;;) {
    let c = text.charCodeAt(i);
    const negative = c === 45; // -
    if (negative) c = text.charCodeAt(++i);
    if (c < 48 || c > 57) return JSON.parse(text) as unknown[];
    // JSON allows no leading zero.
    if (c === 48 && isDigit(text.charCodeAt(i + 1))) return JSON.parse(text) as unknown[];
    let mantissa = 0;
    let digits = 0;
    let decimals = 0;
    while (isDigit(c)) {
      mantissa = mantissa * 10 + (c - 48);
      if (mantissa !== 0) digits++;
      c = text.charCodeAt(++i);
    }
    if (c === 46) {
      // .
      c = text.charCodeAt(++i);
      if (!isDigit(c)) return JSON.parse(text) as unknown[];
      while (isDigit(c)) {
        mantissa = mantissa * 10 + (c - 48);
        if (mantissa !== 0) digits++;
        decimals++;
        c = text.charCodeAt(++i);
      }
    }
    if (digits > 15 || decimals > 22 || c === 101 || c === 69) return JSON.parse(text) as unknown[]; // e, E
    const v = decimals === 0 ? mantissa : mantissa / POW10[decimals]!;
    out.push(negative ? -v : v);
    if (c === COMMA) {
      i++;
      continue;
    }
    if (i === end) return out;
    return JSON.parse(text) as unknown[];
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
