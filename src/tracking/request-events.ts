import { EVENT_LIMITS } from '../common/event-limits.ts';
import { LIMITS } from '../common/limits.ts';
import type { EventArgs, EventEncoder } from './event.ts';

/*
 * A request too large for one event is tracked as several. Serving takes bodies of up to 8 MiB and
 * 10,000 rows, while ingest refuses an event of more than 1 MiB of text and NATS a message over its
 * max_payload (1 MiB by default): 10,000 rows of ten numbers make some 2 MB of event. The tracker's
 * `trackRequest` and `trackRequestDurable` split such a request here; a request held as numbers
 * (event-batch.ts) is surely small enough for one event, and the others are checked once encoded.
 * What still does not fit once split as far as it goes (a row whose event alone is too large) is
 * tracked as an error event of the request instead: never published as it is, where it would be
 * dead-lettered by ingest or, on NATS, refused by the server.
 */

/**
 * Largest event the tracker publishes whole, in bytes of UTF-8. Ingest counts an event's length in
 * characters (each at least a byte) up to EVENT_LIMITS.eventChars; NATS refuses a message body over
 * its max_payload less 1 KiB, the pack's framing (under 1 KiB) included: 2 KiB under 1 MiB fits both.
 * A stream that takes less (a NATS server of a smaller max_payload) says so (`Stream.maxEventBytes`)
 * and the tracker keeps to that instead.
 */
export const MAX_EVENT_BYTES = EVENT_LIMITS.eventChars - 2048;

/** Whether an event's text is within `maxBytes` of UTF-8: one comparison unless it is over a third of it. */
export function fitsOneEvent(text: string, maxBytes = MAX_EVENT_BYTES): boolean {
  // A UTF-16 unit is at most three bytes of UTF-8 (a surrogate pair, two units, is four).
  if (text.length * 3 <= maxBytes) return true;
  return text.length <= maxBytes && Buffer.byteLength(text) <= maxBytes;
}

/** The events {@link requestEvents} makes of one request. */
export interface RequestEvents {
  /** The JSON texts of its events, in order, each within the limit. */
  texts: string[];
  /**
   * Set when rows of the request could not be put in an event within the limit (a row whose event
   * alone is larger, or a request too large with no rows to split): their events are not among
   * `texts`, an error event of the request saying so stands in their place.
   */
  tooLarge?: {
    /** What that error event says. */
    error: string;
    /** Bytes of the largest event left out. */
    bytes: number;
    /** Whether that error event is among `texts`: false only when it is too large itself (the endpoint's own fields are). */
    tracked: boolean;
  };
}

/**
 * The events of a request (`encoder.encode(args)` when that fits `maxBytes`). A request whose event
 * does not fit has its rows split into consecutive runs, each an event that fits, in order. Every
 * piece carries the request's id, `when`, latency, feature names and metrics, its own rows and
 * their outputs, and `request.firstRow`, the index of its first row in the request (so that stored
 * rows keep their places). An error event is sent without its rows, which ingest does not store for
 * an error: still one error, its id and message kept.
 *
 * A run of one row cannot be split, and a request too large without any row (huge names), of more
 * rows than ingest takes, or whose outputs are not one per row, is not split: such an event is not
 * among the texts. One error event of the request stands for all of them, where the first was (see
 * {@link RequestEvents.tooLarge}): its endpoint, request id, `when` and latency, and an `error`
 * saying how large the event was; it is stored in the errors table and counted on the endpoint's
 * errors, while the request's other rows are stored.
 * @throws whatever `encoder.encode` throws
 */
export function requestEvents(encoder: EventEncoder, args: EventArgs, maxBytes = MAX_EVENT_BYTES): RequestEvents {
  const text = encoder.encode(args);
  if (fitsOneEvent(text, maxBytes)) return { texts: [text] };
  const { inputs, outputs } = args;
  if (!Array.isArray(inputs)) return wholeTooLarge(encoder, args, text, maxBytes);
  const rows = inputs.length;
  if (args.error !== undefined) {
    if (rows === 0) return wholeTooLarge(encoder, args, text, maxBytes);
    const bare = encoder.encode({ ...args, inputs: [] });
    return fitsOneEvent(bare, maxBytes) ? { texts: [bare] } : wholeTooLarge(encoder, args, bare, maxBytes);
  }
  const perRow = outputs === undefined || (Array.isArray(outputs) && (outputs.length === 0 || outputs.length === rows));
  if (rows < 2 || rows > LIMITS.rowsPerRequest || !perRow) return wholeTooLarge(encoder, args, text, maxBytes);
  const first = args.firstRow ?? 0;
  // What every piece holds besides its rows: when that alone is too large, no split helps.
  if (!fitsOneEvent(encoder.encode(piece(args, 0, 0, first)), maxBytes)) return wholeTooLarge(encoder, args, text, maxBytes);
  // Runs of about 90% of the limit at first; one still too large (rows of uneven sizes) is halved.
  const runs = Math.min(rows, Math.max(2, Math.ceil(Buffer.byteLength(text) / (0.9 * maxBytes))));
  const split: Split = { texts: [], maxBytes, unfitRows: 0, firstUnfit: -1, at: -1, bytes: 0 };
  for (let r = 0; r < runs; r++) addPieces(encoder, args, Math.floor((rows * r) / runs), Math.floor((rows * (r + 1)) / runs), first, split);
  if (split.unfitRows === 0) return { texts: split.texts };
  const error =
    split.unfitRows === 1
      ? `row ${split.firstUnfit} of the request makes an event of ${split.bytes} bytes, more than one event holds (${maxBytes} bytes); that row is not monitored`
      : `${split.unfitRows} rows of the request make events larger than one event holds (${maxBytes} bytes; row ${split.firstUnfit}, the first, ${split.bytes} bytes); they are not monitored`;
  return withErrorEvent(encoder, args, split.texts, split.at, error, split.bytes, maxBytes);
}

/** The pieces of a request being split, and what of it did not fit. */
interface Split {
  texts: string[];
  maxBytes: number;
  /** Rows whose event alone did not fit. */
  unfitRows: number;
  /** Index in the request of the first of them. */
  firstUnfit: number;
  /** Where in `texts` the first of them was. */
  at: number;
  /** Bytes of the largest of their events. */
  bytes: number;
}

/** Appends the event(s) of rows `from` to `to` (not included) to `split`, halving the run until each fits. */
function addPieces(encoder: EventEncoder, args: EventArgs, from: number, to: number, first: number, split: Split): void {
  const text = encoder.encode(piece(args, from, to, first));
  if (fitsOneEvent(text, split.maxBytes)) {
    split.texts.push(text);
    return;
  }
  if (to - from === 1) {
    if (split.unfitRows++ === 0) {
      split.firstUnfit = first + from;
      split.at = split.texts.length;
    }
    split.bytes = Math.max(split.bytes, Buffer.byteLength(text));
    return;
  }
  const mid = (from + to) >>> 1;
  addPieces(encoder, args, from, mid, first, split);
  addPieces(encoder, args, mid, to, first, split);
}

/** The arguments of the event of rows `from` to `to` of the request: everything else as the request's. */
function piece(args: EventArgs, from: number, to: number, first: number): EventArgs {
  const outputs = args.outputs;
  return {
    ...args,
    inputs: args.inputs.slice(from, to),
    outputs: outputs === undefined || outputs.length === 0 ? outputs : outputs.slice(from, to),
    firstRow: first + from,
  };
}

/** A request none of whose event fits: its error event alone. */
function wholeTooLarge(encoder: EventEncoder, args: EventArgs, text: string, maxBytes: number): RequestEvents {
  const bytes = Buffer.byteLength(text);
  const what = args.error === undefined ? `event is ${bytes} bytes, more than one event holds (${maxBytes} bytes); its rows are not monitored` : `error event is ${bytes} bytes, more than one event holds (${maxBytes} bytes); its error begins: ${args.error.slice(0, 1000)}`;
  return withErrorEvent(encoder, args, [], 0, `the request's ${what}`, bytes, maxBytes);
}

/**
 * `texts` with, at `at`, the request's error event saying `error`: its endpoint, id, `when` and
 * latency only (no rows, names or metrics, which an error does not need), so that it fits.
 */
function withErrorEvent(encoder: EventEncoder, args: EventArgs, texts: string[], at: number, error: string, bytes: number, maxBytes: number): RequestEvents {
  const event = encoder.encode({ start: args.start, latencyUs: args.latencyUs, requestId: args.requestId, inputs: [], featureNames: [], error });
  const tracked = fitsOneEvent(event, maxBytes);
  if (tracked) texts.splice(at, 0, event);
  return { texts, tooLarge: { error, bytes, tracked } };
}
