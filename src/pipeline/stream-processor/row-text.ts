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
  let limit = plainUntil(raw, i);
  const features: string[] = [];
  for (;;) {
    if (raw.charCodeAt(i) !== OPEN) return undefined;
    const end = flatListEnd(raw, i, limit);
    if (end < 0) return undefined;
    features.push(raw.slice(i, end + 1));
    i = end + 1;
    const c = raw.charCodeAt(i++);
    if (c === CLOSE) break;
    if (c !== COMMA) return undefined;
  }
  if (features.length !== rows || raw.charCodeAt(i++) !== END) return undefined;
  if (!raw.startsWith(OUTPUTS, i)) return { features };
  i += OUTPUTS.length;
  limit = plainUntil(raw, i);
  const outputs: string[] = [];
  for (;;) {
    let text: string;
    if (raw.charCodeAt(i) === OPEN) {
      const end = flatListEnd(raw, i, limit);
      if (end < 0) return { features };
      text = raw.slice(i, end + 1);
      i = end + 1;
    } else {
      const end = scalarEnd(raw, i, limit);
      if (end <= i) return { features };
      text = `[${raw.slice(i, end)}]`;
      i = end;
    }
    outputs.push(text);
    const c = raw.charCodeAt(i++);
    if (c === CLOSE) break;
    if (c !== COMMA) return { features };
  }
  return outputs.length === rows ? { features, outputs } : { features };
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
