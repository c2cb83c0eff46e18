import type { Clock } from '../common/clock.ts';
import type { InferenceEvent } from '../common/types.ts';

/** What an event says about the model endpoint it belongs to. */
export interface EndpointInfo {
  endpointId: string;
  project: string;
  function: string;
  model: string;
  version?: string;
  tag?: string;
  modelUri?: string;
  featureNames?: string[];
  labelNames?: string[];
  labels?: Record<string, string>;
}

/** When a request started, on two clocks: a monotonic one for latency and the platform clock for `when`. */
export interface RequestStart {
  /** process.hrtime.bigint() at the start. */
  ns: bigint;
  /** The platform clock at the start (epoch ms, may carry a fraction). */
  ms: number;
}

/** Marks the start of a request. */
export function startRequest(clock: Clock): RequestStart {
  return { ns: process.hrtime.bigint(), ms: clock.now() };
}

/**
 * Microseconds since `start`, from the monotonic clock. A bigint difference, so it never
 * wraps at one second (the peer took the microsecond field of a timedelta and did).
 */
export function elapsedUs(start: RequestStart): number {
  return Number((process.hrtime.bigint() - start.ns) / 1000n);
}

// `when` changes its date-and-seconds part once a second: formatting it with Date#toISOString for
// every event was the largest cost of building one, so the part up to the seconds is kept.
let whenSecond = Number.NaN;
let whenPrefix = '';

/** '000' … '999', made once: `when` takes two per event. */
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** ISO-8601 with microseconds for an epoch-ms time; a fractional ms becomes the microsecond digits. */
export function whenIso(ms: number): string {
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  if (second !== whenSecond) {
    const iso = new Date(second * 1000).toISOString(); // ...ss.000Z
    whenPrefix = iso.slice(0, iso.length - 4);
    whenSecond = second;
  }
  return `${whenPrefix}${PAD3[whole - second * 1000]!}${PAD3[Math.floor((ms - whole) * 1000) % 1000]!}Z`;
}

/** Builds an inference event (or an error event when `error` is set), leaving out empty fields. */
export function buildInferenceEvent(
  endpoint: EndpointInfo,
  args: {
    start: RequestStart;
    latencyUs: number;
    requestId: string;
    inputs: unknown[][];
    outputs?: unknown[];
    /**
     * Index in its request of the event's first row: set on each event of a request the tracker
     * splits into several (see `splitRequest`), so that rows keep their places when stored.
     */
    firstRow?: number;
    featureNames?: string[];
    metrics?: Record<string, number>;
    error?: string;
  },
): InferenceEvent {
  // Built field by field rather than with conditional spreads, which allocate a throw-away
  // object per optional field on every request; the key order (and so the JSON) is the same.
  const event = { v: 1, endpointId: endpoint.endpointId, project: endpoint.project, function: endpoint.function, model: endpoint.model } as InferenceEvent;
  if (endpoint.version !== undefined) event.version = endpoint.version;
  if (endpoint.tag !== undefined) event.tag = endpoint.tag;
  if (endpoint.modelUri !== undefined) event.modelUri = endpoint.modelUri;
  event.when = whenIso(args.start.ms);
  event.latencyUs = args.latencyUs;
  event.request = args.firstRow === undefined ? { id: args.requestId, inputs: args.inputs } : { id: args.requestId, firstRow: args.firstRow, inputs: args.inputs };
  if (args.outputs !== undefined) event.response = { outputs: args.outputs };
  const featureNames = args.featureNames ?? endpoint.featureNames;
  if (featureNames && featureNames.length > 0) event.featureNames = featureNames;
  if (endpoint.labelNames && endpoint.labelNames.length > 0) event.labelNames = endpoint.labelNames;
  if (endpoint.labels && hasKeys(endpoint.labels)) event.labels = endpoint.labels;
  if (args.metrics && hasKeys(args.metrics)) event.metrics = args.metrics;
  if (args.error !== undefined) event.error = args.error;
  return event;
}

/** Whether an object has an enumerable key of its own or inherited (`for…in`). */
export function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** What {@link EventEncoder.encode} needs of one request: the arguments of {@link buildInferenceEvent}. */
export type EventArgs = Parameters<typeof buildInferenceEvent>[1];

/**
 * Writes an endpoint's events as JSON text without building the event object first: the fields
 * that are the same for every event of the endpoint (ids, names, feature and label names) are
 * encoded once, and only the request's own fields are encoded per event. The text is exactly
 * `JSON.stringify(buildInferenceEvent(endpoint, args))`. Serving tracks every request, and building
 * the object and then stringifying it cost it about three times as much.
 */
export class EventEncoder {
  /**
   * `{"v":1,…` up to the opening quote of `when`: the text every event of the endpoint begins with
   * (`encode` writes `head + middle(args) + …`).
   */
  readonly head: string;
  /** The endpoint's featureNames, labelNames and labels fields, each with its leading comma. */
  private readonly featureNamesField: string;
  private readonly endpointTail: string;
  private json: string | undefined;
  private fixed: number | undefined;

  constructor(readonly endpoint: EndpointInfo) {
    const fixed: Record<string, unknown> = { v: 1, endpointId: endpoint.endpointId, project: endpoint.project, function: endpoint.function, model: endpoint.model };
    if (endpoint.version !== undefined) fixed.version = endpoint.version;
    if (endpoint.tag !== undefined) fixed.tag = endpoint.tag;
    if (endpoint.modelUri !== undefined) fixed.modelUri = endpoint.modelUri;
    const json = JSON.stringify(fixed);
    this.head = `${json.slice(0, -1)},"when":"`;
    this.featureNamesField = featureNamesField(endpoint.featureNames);
    let tail = '';
    if (endpoint.labelNames && endpoint.labelNames.length > 0) tail += `,"labelNames":${JSON.stringify(endpoint.labelNames)}`;
    if (endpoint.labels && hasKeys(endpoint.labels)) tail += `,"labels":${JSON.stringify(endpoint.labels)}`;
    this.endpointTail = tail;
  }

  /** The endpoint as JSON (made once), which names this encoder across threads (see event-batch.ts). */
  get endpointJson(): string {
    this.json ??= JSON.stringify(this.endpoint);
    return this.json;
  }

  /** UTF-8 bytes of what every event of a request as {@link plainTail} describes holds besides `middle(args)` (made once). */
  get fixedBytes(): number {
    this.fixed ??= Buffer.byteLength(this.head) + Buffer.byteLength(this.plainTail);
    return this.fixed;
  }

  /** Whether `names` are the endpoint's feature names (then `encode` writes the field kept for them). */
  hasEndpointNames(names: string[]): boolean {
    return sameNames(names, this.endpoint.featureNames);
  }

  /**
   * The event's JSON text.
   * @throws whatever JSON.stringify throws for the inputs, outputs or metrics (a BigInt, a cycle)
   */
  encode(args: EventArgs): string {
    let s = this.head + this.middle(args);
    // Serving passes the request's input names, which are most often the endpoint's own.
    const names = args.featureNames;
    s += names === undefined || sameNames(names, this.endpoint.featureNames) ? this.featureNamesField : featureNamesField(names);
    s += this.endpointTail;
    if (args.metrics && hasKeys(args.metrics)) s += `,"metrics":${JSON.stringify(args.metrics)}`;
    if (args.error !== undefined) s += `,"error":${JSON.stringify(args.error)}`;
    s += '}';
    // An event waits in the tracker's queue: kept flat (see `flat`), it is one object for the
    // garbage collector to trace, not twenty (with 10,000 queued, as much CPU as tracking itself).
    return flat(s);
  }

  /**
   * What `encode` writes after `middle(args)` for a request with no metrics and no error whose
   * feature names are the endpoint's own (or not given).
   */
  get plainTail(): string {
    return `${this.featureNamesField}${this.endpointTail}}`;
  }

  /**
   * The request's own part of its event, from the value of `when` to the end of the response: for a
   * request as {@link plainTail} describes, `encode(args)` is `head + middle(args) + plainTail`.
   * @throws whatever JSON.stringify throws for the inputs or outputs
   */
  middle(args: Pick<EventArgs, 'start' | 'latencyUs' | 'requestId' | 'inputs' | 'outputs' | 'firstRow'>): string {
    let s = `${whenIso(args.start.ms)}","latencyUs":${jsonNumber(args.latencyUs)},"request":{"id":${jsonString(args.requestId)}`;
    if (args.firstRow !== undefined) s += `,"firstRow":${jsonNumber(args.firstRow)}`;
    if (args.inputs !== undefined) s += `,"inputs":${JSON.stringify(args.inputs)}`;
    s += '}';
    if (args.outputs !== undefined) s += `,"response":{"outputs":${JSON.stringify(args.outputs)}}`;
    return s;
  }
}

function sameNames(a: string[], b: string[] | undefined): boolean {
  if (a === b) return true;
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Ids are mostly UUIDs or other plain text that JSON writes as it is, quoted: letters, digits and
 * `_.:@/+=-` ({@link PLAIN}: 1 by character code, for codes below 256; {@link PLAIN_TEXT}: a text
 * of these only).
 */
const PLAIN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@/+=-';
export const PLAIN = new Uint8Array(256);
for (const c of PLAIN_CHARS) PLAIN[c.charCodeAt(0)] = 1;
export const PLAIN_TEXT = new RegExp(`^[${PLAIN_CHARS.replace(/[\\\]^-]/g, '\\$&')}]*$`);

/** A string as JSON writes it. */
export function jsonString(s: string): string {
  if (typeof s !== 'string' || s.length >= 128) return JSON.stringify(s);
  for (let i = 0; i < s.length; i++) {
    if (PLAIN[s.charCodeAt(i)] !== 1) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function featureNamesField(names: string[] | undefined): string {
  return names && names.length > 0 ? `,"featureNames":${JSON.stringify(names)}` : '';
}

/**
 * `s`, made flat. A string put together by concatenation stays a tree of its pieces until
 * something reads its characters, and reading one character flattens it in place (in optimised
 * code too). What tracking holds until it is published is kept flat: an event's text. (A request
 * id from `crypto.randomUUID()` is some twenty pieces, 490 bytes against 66 flat; held past a
 * young-generation collection or two under load, such trees were copied into the old generation:
 * per 200k tracked requests with a web framework's garbage beside them, 127 MB promoted and 211 ms
 * of scavenges, against 42 MB and 108 ms with the ids flat. Serving now makes its ids in one piece,
 * `requestUuid`, and the tracker keeps ids of requests held as numbers as bytes.)
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** A number as JSON writes it: finite numbers as String does, NaN and the infinities as null. */
export function jsonNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (!Number.isFinite(n)) return 'null';
  return shortDecimal(n) ?? String(n);
}

const ZEROS = ['', '0', '00', '000', '0000', '00000'];

/**
 * The text of `n` when it is the double nearest a decimal of at most six places below 10^9 (feature
 * values read from CSV or typed in mostly are): that decimal's digits, which are what String
 * writes, as it is the only decimal of at most six places within half a unit in the last place of
 * `n` (below 10^9 such decimals lie 10^-6 apart, over four units). `r = Math.round(|n| · 10^6)` is
 * its value times 10^6, and the division `r / 10^6`, correctly rounded, gives `|n|` back exactly
 * when `|n|` is the double nearest r·10^-6; the text is then written from the whole and fractional
 * parts of `r`, small integers that String writes on its fast path. Measured on values of two and
 * four places: 43–51 ns a number, against 131–150 for String's own shortest-digits search and
 * 79–88 for a search of the places one by one (`n · 10^k` for k = 1…6). Undefined when `n` is not
 * such a number.
 */
function shortDecimal(n: number): string | undefined {
  const a = n < 0 ? -n : n;
  if (!(a < 1e9)) return undefined;
  const r = Math.round(a * 1e6);
  if (r / 1e6 !== a) return undefined;
  // Both parts as 32-bit integers: `%` on a double is a call to fmod.
  const whole = Math.floor(r / 1e6) | 0;
  let frac = (r - whole * 1e6) | 0;
  let places = 6;
  // Not 0: `n` is not a whole number (the caller has written those).
  for (let q = (frac / 10) | 0; frac !== 0 && frac === q * 10; q = (frac / 10) | 0) {
    frac = q;
    places -= 1;
  }
  const digits = String(frac);
  const text = `${whole}.${ZEROS[places - digits.length]!}${digits}`;
  return n < 0 ? `-${text}` : text;
}
