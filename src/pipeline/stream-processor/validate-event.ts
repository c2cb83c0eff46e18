import { columnTextProblem, EVENT_LIMITS as L, exceedsChars, nameProblem } from '../../common/event-limits.ts';
import type { InferenceEvent } from '../../common/types.ts';
import { parseRow, readMiddle, type RowTexts } from './row-text.ts';

/** What {@link parseEvent} makes of an event. */
export type ParsedEvent =
  | { ok: true; event: InferenceEvent; time: number }
  | { ok: false; error: string; endpointId?: string; project?: string; requestId?: string };

/**
 * Checks an event from the stream and parses its time (epoch ms). Bad events are counted as
 * endpoint errors, never thrown. Runs once per event on the ingest path, so the checks allocate
 * nothing beyond the parsed event and the result.
 */
export function parseEvent(raw: string): ParsedEvent {
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'event is not valid JSON' };
  }
  if (typeof o !== 'object' || o === null) return { ok: false, error: 'event is not an object' };
  if (raw.length > L.eventChars) return tooLarge(raw.length, o as Record<string, unknown>);
  return checkEvent(o as Record<string, unknown>, Date.parse);
}

/** An event whose text is past {@link EVENT_LIMITS.eventChars}, with the endpoint it names when it names one. */
function tooLarge(chars: number, e: Record<string, unknown>): ParsedEvent {
  return {
    ok: false,
    error: `event text is ${chars} characters, more than ${L.eventChars}`,
    endpointId: typeof e.endpointId === 'string' ? e.endpointId : undefined,
    project: typeof e.project === 'string' ? e.project : undefined,
  };
}

/** Checks a parsed event object; `parseTime` reads its `when`. */
function checkEvent(e: Record<string, unknown>, parseTime: (when: string) => number): ParsedEvent {
  return checkEventAt(e, typeof e.when === 'string' ? parseTime(e.when) : Number.NaN);
}

/** Checks a parsed event object whose `when` reads as `time`. */
function checkEventAt(e: Record<string, unknown>, time: number): ParsedEvent {
  const error = problemOf(e, time);
  if (error === undefined) return { ok: true, event: e as unknown as InferenceEvent, time };
  if (error === ERROR_EVENT) {
    const req = e.request as Record<string, unknown>;
    return { ok: true, event: { ...(e as unknown as InferenceEvent), request: { id: req.id as string, inputs: Array.isArray(req.inputs) ? (req.inputs as unknown[][]) : [] } }, time };
  }
  const req = e.request as Record<string, unknown> | null | undefined;
  return {
    ok: false,
    error,
    endpointId: typeof e.endpointId === 'string' ? e.endpointId : undefined,
    project: typeof e.project === 'string' ? e.project : undefined,
    requestId: typeof req === 'object' && req !== null && typeof req.id === 'string' ? req.id : undefined,
  };
}

/** Marks a well-formed error event (its request needs no rows). */
const ERROR_EVENT = '';

/** What is wrong with a parsed event; undefined for a good prediction event, {@link ERROR_EVENT} for a good error event. */
function problemOf(e: Record<string, unknown>, time: number): string | undefined {
  const head = headProblem(e);
  if (head !== undefined) return head;
  if (Number.isNaN(time)) return `event time ${JSON.stringify(e.when)} is not an ISO time`;
  if (typeof e.latencyUs !== 'number' || !Number.isFinite(e.latencyUs) || e.latencyUs < 0) return 'event latencyUs must be a non-negative number';
  if (e.latencyUs > L.latencyUs) return `event latencyUs must be at most ${L.latencyUs}`;
  const req = e.request as Record<string, unknown> | undefined;
  if (!req || typeof req !== 'object') return 'event has no request';
  if (typeof req.id !== 'string') return 'event request has no id';
  const id = columnTextProblem('event request.id', req.id, L.requestIdChars);
  if (id !== undefined) return id;
  const firstRow = req.firstRow;
  if (firstRow !== undefined && (typeof firstRow !== 'number' || !Number.isInteger(firstRow) || firstRow < 0)) return 'event request.firstRow must be a non-negative integer';
  const names = namesProblem(e);
  if (names !== undefined) return names;
  if (e.error !== undefined) {
    if (typeof e.error !== 'string') return 'event error must be a string';
    return e.error.length > L.errorChars ? `event error is longer than ${L.errorChars} characters` : ERROR_EVENT;
  }
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) return 'event request.inputs must be a non-empty list of rows';
  const inputs = req.inputs as unknown[];
  if (inputs.length > L.rowsPerEvent) return `event request.inputs has ${inputs.length} rows, more than ${L.rowsPerEvent}`;
  // The rows of a request tracked as several events (see tracking/request-events.ts) are rows of that request.
  if (typeof firstRow === 'number' && firstRow + inputs.length > L.rowsPerEvent) {
    return `event request.firstRow ${firstRow} puts its rows past row ${L.rowsPerEvent} of the request`;
  }
  for (let i = 0; i < inputs.length; i++) {
    const row = inputs[i];
    if (!Array.isArray(row)) return `event request.inputs[${i}] is not a row (array)`;
    if (row.length > L.featuresPerRow) return `event request.inputs[${i}] has ${row.length} values, more than ${L.featuresPerRow}`;
  }
  const res = e.response as Record<string, unknown> | undefined;
  const outputs = res && Array.isArray(res.outputs) ? (res.outputs as unknown[]) : [];
  if (outputs.length !== 0 && outputs.length !== inputs.length) return `event has ${inputs.length} input rows but ${outputs.length} outputs`;
  return undefined;
}

/** What is wrong with the fields that name an event's endpoint (its head, see {@link EventParser}); undefined when nothing. */
function headProblem(e: Record<string, unknown>): string | undefined {
  if (typeof e.endpointId !== 'string' || !e.endpointId) return 'event has no endpointId';
  if (typeof e.project !== 'string' || !e.project) return 'event has no project';
  if (typeof e.model !== 'string' || !e.model) return 'event has no model';
  if (typeof e.function !== 'string') return 'event has no function';
  const version = optionalString(e, 'version');
  const tag = optionalString(e, 'tag');
  const uri = optionalString(e, 'modelUri');
  if (version === null || tag === null || uri === null) return `event ${version === null ? 'version' : tag === null ? 'tag' : 'modelUri'} must be a string`;
  return (
    nameProblem('event endpointId', e.endpointId, L.endpointIdChars) ??
    nameProblem('event project', e.project, L.projectChars) ??
    nameProblem('event function', e.function, L.functionChars) ??
    nameProblem('event model', e.model, L.modelChars) ??
    (version === undefined ? undefined : nameProblem('event version', version, L.versionChars)) ??
    (version !== undefined && exceedsChars(`${e.model}:${version}`, L.modelChars) ? `event model and version make an endpoint name longer than ${L.modelChars} characters` : undefined) ??
    (tag === undefined ? undefined : nameProblem('event tag', tag, L.tagChars)) ??
    (uri === undefined ? undefined : nameProblem('event modelUri', uri, L.modelUriChars))
  );
}

/** A field that may be absent (or null): its text, undefined when absent, null when it is something else. */
function optionalString(e: Record<string, unknown>, key: string): string | undefined | null {
  const v = e[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : null;
}

/** What is wrong with an event's names and labels (its tail, see {@link EventParser}); undefined when nothing. */
function namesProblem(e: Record<string, unknown>): string | undefined {
  for (const key of ['featureNames', 'labelNames'] as const) {
    const names = e[key];
    if (names === undefined || names === null) continue;
    if (!Array.isArray(names)) return `event ${key} must be a list of names`;
    if (names.length > L.featuresPerRow) return `event ${key} has ${names.length} names, more than ${L.featuresPerRow}`;
    for (let i = 0; i < names.length; i++) {
      const n: unknown = names[i];
      if (typeof n !== 'string') return `event ${key}[${i}] is not a string`;
      const p = nameProblem(`event ${key}[${i}]`, n, L.featureNameChars);
      if (p !== undefined) return p;
    }
  }
  const labels = e.labels;
  if (labels === undefined || labels === null) return undefined;
  if (typeof labels !== 'object' || Array.isArray(labels)) return 'event labels must be an object';
  let n = 0;
  for (const [k, v] of Object.entries(labels)) {
    if (++n > L.labels) return `event has more than ${L.labels} labels`;
    if (exceedsChars(k, L.labelKeyChars)) return `event label key is longer than ${L.labelKeyChars} characters`;
    if (typeof v === 'string' && exceedsChars(v, L.labelValueChars)) return `event label ${JSON.stringify(k.slice(0, 64))} is longer than ${L.labelValueChars} characters`;
  }
  return undefined;
}

/** JSON's number grammar (Number() also takes hex, `Infinity`, white space and more). */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Where the request's own fields begin in an event's text: right after the endpoint's. */
const WHEN = ',"when":"';
/** Head beginnings remembered at most (one per endpoint in practice); the map starts over when full. */
const MAX_HEADS = 4096;
/** Characters of a head that key the map: enough to hold the endpoint id of an encoded event. */
const HEAD_KEY_CHARS = 64;
/** Heads of one beginning remembered at most (the same endpoint id with another model URI, say). */
const MAX_HEADS_PER_KEY = 4;

/** The text an endpoint's events begin with, up to `when`, and its fields. */
interface Head {
  text: string;
  fields: Record<string, unknown>;
  /** Its fields pass every check of an event's endpoint fields (so only the event's own need checking). */
  valid: boolean;
  /** The text the endpoint's events last ended with (`,"featureNames":…}`), when it is known. */
  tail?: Tail;
}

interface Tail {
  text: string;
  /** Its fields, frozen: every event of the endpoint shares them. */
  fields: Record<string, unknown>;
  /** Its fields pass every check of an event's names and labels (so only the event's own need checking). */
  valid: boolean;
  /** {@link eventTemplate}s of the head this tail was learned for. */
  withResponse?: Record<string, unknown>;
  withoutResponse?: Record<string, unknown>;
}

/**
 * {@link parseEvent} for a stream of events, faster on the ones serving's EventEncoder writes. An
 * encoded event begins with the endpoint's fields (`{"v":1,"endpointId":…,"modelUri":…`) and ends
 * with its names (`,"featureNames":[…],"labelNames":[…]}`): the same text for every event of the
 * endpoint. Those are parsed once per endpoint and remembered; each event then reads only its own
 * middle (`"when":…,"latencyUs":…,"request":…,"response":…`), about half of its text, by position
 * when it is laid out as the encoder writes it (see `readOwnFields`; its row texts are kept for
 * storage in {@link EventParser.lastTexts}), else with JSON.parse; and `when` is read with its date
 * and seconds parsed once per second. Measured on events of 10 features: JSON.parse of the whole
 * 3.1 µs per event, of the middle 2.7; by position, with the row texts that `rowTexts` otherwise
 * cuts out, 3.0–3.8 against 4.5–5.9 for the middle's JSON.parse plus `rowTexts` (in one process,
 * alternating, on a slower day).
 *
 * The result equals `parseEvent`'s. A head is remembered only when it is exactly the JSON of the
 * fields it parses to; a middle is used only when `{` + middle + `}` is itself a JSON object, so the
 * whole text is that object's members between the head's and the tail's (JSON.parse keeps the last
 * of a repeated key, and so does the merge, in the same order); anything else is parsed whole.
 */
export class EventParser {
  /**
   * The row texts of the event `parse` read last, when it read them by position (see
   * `readMiddle`); undefined otherwise (then `rowTexts` cuts them out, or the rows are encoded).
   */
  lastTexts: RowTexts | undefined;
  private readonly heads = new Map<string, Head[]>();
  /** `when` up to the seconds, and that second's epoch ms (see {@link EventParser.time}). */
  private second = '';
  private secondMs = Number.NaN;
  private readonly parseTime = (when: string): number => this.time(when);

  parse(raw: string): ParsedEvent {
    this.lastTexts = undefined;
    if (raw.length > L.eventChars) return parseEvent(raw);
    const w = raw.indexOf(WHEN);
    if (w < 0) return parseEvent(raw);
    // Looked up by the beginning (which holds the endpoint id), then compared whole: hashing the
    // whole head for the lookup cost more than the comparison.
    const key = raw.slice(0, Math.min(w, HEAD_KEY_CHARS));
    const candidates = this.heads.get(key);
    let head: Head | undefined;
    if (candidates !== undefined) {
      for (const h of candidates) {
        if (h.text.length === w && raw.slice(0, w) === h.text) {
          head = h;
          break;
        }
      }
    }
    if (head === undefined) {
      head = learnHead(raw.slice(0, w));
      if (head === undefined) return parseEvent(raw);
      if (candidates === undefined) {
        if (this.heads.size >= MAX_HEADS) this.heads.clear();
        this.heads.set(key, [head]);
      } else if (candidates.unshift(head) > MAX_HEADS_PER_KEY) candidates.pop();
    }
    const from = w + WHEN.length;
    const tail = head.tail;
    if (tail !== undefined && raw.length > from + tail.text.length && raw.endsWith(tail.text)) {
      const fast = this.readOwnFields(raw, from, raw.length - tail.text.length, head, tail);
      if (fast !== undefined) return fast;
      const middle = parseObject(`{"when":"${raw.slice(from, raw.length - tail.text.length)}}`);
      // Object.assign would set the prototype where JSON.parse makes an own property.
      if (middle === undefined || Object.hasOwn(middle, '__proto__')) return parseEvent(raw);
      return checkEvent(Object.assign({}, head.fields, middle, tail.fields), this.parseTime);
    }
    const rest = parseObject(`{"when":"${raw.slice(from)}`);
    if (rest === undefined || Object.hasOwn(rest, '__proto__')) return parseEvent(raw);
    head.tail = learnTail(raw, rest) ?? head.tail;
    return checkEvent(Object.assign({}, head.fields, rest), this.parseTime);
  }

  /**
   * The event whose head and tail are known, its own fields read by position (see `readMiddle`):
   * only its rows and outputs go through JSON.parse, each list on its own, and the event object is
   * the head's fields, the request's and the tail's, in the order JSON.parse of the whole would give.
   * Undefined when the middle is laid out otherwise or is not a good event (the generic path then
   * parses it, and says what is wrong). Sets {@link lastTexts}.
   */
  private readOwnFields(raw: string, from: number, end: number, head: Head, tail: Tail): ParsedEvent | undefined {
    if (!head.valid || !tail.valid) return undefined;
    const m = readMiddle(raw, from, end);
    if (m === undefined || !JSON_NUMBER.test(m.latency)) return undefined;
    const latencyUs = Number(m.latency);
    const time = this.time(m.when);
    if (!(latencyUs >= 0) || !(latencyUs <= L.latencyUs) || Number.isNaN(time)) return undefined;
    // The id holds no NUL (`readMiddle` takes no control character); its length is checked here.
    if (exceedsChars(m.requestId, L.requestIdChars)) return undefined;
    const rows = m.features;
    if (rows.length > L.rowsPerEvent) return undefined;
    const inputs = new Array<unknown[]>(rows.length);
    let outputs: unknown[] | undefined;
    try {
      for (let i = 0; i < rows.length; i++) {
        const row = parseRow(rows[i]!);
        if (row.length > L.featuresPerRow) return undefined;
        inputs[i] = row;
      }
      if (m.outputsList !== undefined) outputs = JSON.parse(m.outputsList) as unknown[];
    } catch {
      return undefined;
    }
    // What `problemOf` would check, the head's and the tail's fields apart (checked once each,
    // `head.valid` and `tail.valid`): the request's id is a string within its limits, its rows are
    // lists (each parsed out of a `[…]`) within theirs, latency and time are checked above; no error
    // field (the head and the tail have none, the middle ends at the outputs).
    if (rows.length === 0 || (outputs !== undefined && outputs.length !== 0 && outputs.length !== rows.length)) return undefined;
    const request = { id: m.requestId, inputs };
    // The key order of JSON.parse of the whole: head, own fields, tail.
    const e: Record<string, unknown> = { ...eventTemplate(head, tail, outputs !== undefined) };
    e.when = m.when;
    e.latencyUs = latencyUs;
    e.request = request;
    if (outputs !== undefined) e.response = { outputs };
    const parsed: ParsedEvent = { ok: true, event: e as unknown as InferenceEvent, time };
    this.lastTexts = m.outputs === undefined || m.outputs.length !== rows.length ? { features: rows } : { features: rows, outputs: m.outputs };
    return parsed;
  }

  /**
   * `Date.parse(when)` for the encoder's `YYYY-MM-DDTHH:MM:SS.ffffffZ`, parsing the date and
   * seconds once per second (Date.parse keeps whole milliseconds: the first three digits).
   */
  private time(when: string): number {
    if (when.length !== 27 || when.charCodeAt(19) !== 46 /* . */ || when.charCodeAt(26) !== 90 /* Z */) return Date.parse(when);
    let ms = 0;
    for (let i = 20; i < 26; i++) {
      const d = when.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return Date.parse(when);
      if (i < 23) ms = ms * 10 + d;
    }
    const second = when.slice(0, 19);
    if (second !== this.second) {
      const base = Date.parse(`${second}Z`);
      if (Number.isNaN(base)) return Date.parse(when);
      this.second = second;
      this.secondMs = base;
    }
    return this.secondMs + ms;
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
}

/**
 * An event of the head and tail with its own fields still empty, in the key order JSON.parse of the
 * whole gives (head, own, tail): copied with a spread, which clones the object's layout at once,
 * where assigning the fields one source after another cost 0.2 µs per event.
 */
function eventTemplate(head: Head, tail: Tail, withResponse: boolean): Readonly<Record<string, unknown>> {
  const cached = withResponse ? tail.withResponse : tail.withoutResponse;
  if (cached !== undefined) return cached;
  const own = withResponse ? { when: '', latencyUs: 0, request: null, response: null } : { when: '', latencyUs: 0, request: null };
  const t = Object.assign({}, head.fields, own, tail.fields);
  if (withResponse) tail.withResponse = t;
  else tail.withoutResponse = t;
  return t;
}

/** The head's fields, when `text` is exactly the JSON (as JSON.stringify writes it, less the closing brace) of a plain object of scalars. */
function learnHead(text: string): Head | undefined {
  const fields = parseObject(`${text}}`);
  if (fields === undefined || Object.hasOwn(fields, '__proto__') || JSON.stringify(fields) !== `${text}}`) return undefined;
  for (const k in fields) {
    const v = fields[k];
    if (v !== null && typeof v === 'object') return undefined;
  }
  const valid =
    headProblem(fields) === undefined &&
    !('when' in fields || 'latencyUs' in fields || 'request' in fields || 'response' in fields || 'error' in fields);
  return { text, fields, valid };
}

/**
 * The tail of an event whose middle (everything after `when`) parsed to `rest`: its names
 * (`featureNames`, `labelNames`, `labels`) as the encoder writes them, when the event ends with
 * exactly that and carries nothing else after them.
 */
function learnTail(raw: string, rest: Record<string, unknown>): Tail | undefined {
  if (rest.metrics !== undefined || rest.error !== undefined) return undefined;
  let text = '';
  const fields: Record<string, unknown> = {};
  for (const k of ['featureNames', 'labelNames', 'labels'] as const) {
    const v = rest[k];
    if (v === undefined) continue;
    text += `,"${k}":${JSON.stringify(v)}`;
    fields[k] = deepFreeze(v);
  }
  // Without names there is nothing to leave out (and a bare `}` would match every event after).
  if (text === '') return undefined;
  text += '}';
  return raw.endsWith(text) ? { text, fields: Object.freeze(fields), valid: namesProblem(fields) === undefined } : undefined;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
