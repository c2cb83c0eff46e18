import { EVENT_LIMITS } from '../common/event-limits.ts';
import { LIMITS } from '../common/limits.ts';
import type { EventArgs, EventEncoder } from './event.ts';

/*
 * A request too large for one event is tracked as several. Serving takes bodies of up to 8 MiB and
 * 10,000 rows, while ingest refuses an event of more than 1 MiB of text and NATS a message over its
 * max_payload (1 MiB by default): 10,000 rows of ten numbers make some 2 MB of event. The tracker's
 * `trackRequest` and `trackRequestDurable` split such a request here; a request held as numbers
 * (event-batch.ts) is surely small enough for one event, and the others are checked once encoded.
 */

/**
 * Largest event the tracker publishes whole, in bytes of UTF-8. Ingest counts an event's length in
 * characters (each at least a byte) up to EVENT_LIMITS.eventChars; NATS refuses a message body over
 * its max_payload less 1 KiB, the pack's framing (under 1 KiB) included: 2 KiB under 1 MiB fits both.
 */
export const MAX_EVENT_BYTES = EVENT_LIMITS.eventChars - 2048;

/** Whether an event's text is within {@link MAX_EVENT_BYTES}: one comparison unless it is over a third of it. */
export function fitsOneEvent(text: string): boolean {
  // A UTF-16 unit is at most three bytes of UTF-8 (a surrogate pair, two units, is four).
  if (text.length * 3 <= MAX_EVENT_BYTES) return true;
  return text.length <= MAX_EVENT_BYTES && Buffer.byteLength(text) <= MAX_EVENT_BYTES;
}

/**
 * The JSON texts of the events of a request whose one event, `text` (`encoder.encode(args)`), does
 * not fit {@link MAX_EVENT_BYTES}: the request's rows split into consecutive runs, each an event that
 * fits, in order. Every piece carries the request's id, `when`, latency, feature names and metrics,
 * its own rows and their outputs, and `request.firstRow`, the index of its first row in the request
 * (so that stored rows keep their places). A run of one row cannot be split: when its event alone is
 * too large it is published as it is and ingest dead-letters it (counted on the endpoint's errors).
 * `[text]`, published as it is too, for a request too large without any row (huge names), of more
 * rows than ingest takes, or whose outputs are not one per row (ingest refuses those whole). An
 * error event is sent without its rows, which ingest does not store for an error: still one error,
 * its id and message kept.
 * @throws whatever `encoder.encode` throws
 */
export function splitRequest(encoder: EventEncoder, args: EventArgs, text: string): string[] {
  const { inputs, outputs } = args;
  if (!Array.isArray(inputs)) return [text];
  const rows = inputs.length;
  if (args.error !== undefined) {
    if (rows === 0) return [text];
    const bare = encoder.encode({ ...args, inputs: [] });
    return [fitsOneEvent(bare) ? bare : text];
  }
  const perRow = outputs === undefined || (Array.isArray(outputs) && (outputs.length === 0 || outputs.length === rows));
  if (rows < 2 || rows > LIMITS.rowsPerRequest || !perRow) return [text];
  const first = args.firstRow ?? 0;
  // What every piece holds besides its rows: when that alone is too large, no split helps.
  if (!fitsOneEvent(encoder.encode(piece(args, 0, 0, first)))) return [text];
  // Runs of about 90% of the limit at first; one still too large (rows of uneven sizes) is halved.
  const runs = Math.min(rows, Math.max(2, Math.ceil(Buffer.byteLength(text) / (0.9 * MAX_EVENT_BYTES))));
  const out: string[] = [];
  for (let r = 0; r < runs; r++) addPieces(encoder, args, Math.floor((rows * r) / runs), Math.floor((rows * (r + 1)) / runs), first, out);
  return out;
}

/** Appends the event(s) of rows `from` to `to` (not included) to `out`, halving the run until each fits. */
function addPieces(encoder: EventEncoder, args: EventArgs, from: number, to: number, first: number, out: string[]): void {
  const text = encoder.encode(piece(args, from, to, first));
  if (to - from === 1 || fitsOneEvent(text)) {
    out.push(text);
    return;
  }
  const mid = (from + to) >>> 1;
  addPieces(encoder, args, from, mid, first, out);
  addPieces(encoder, args, mid, to, first, out);
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
