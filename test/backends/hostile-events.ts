/**
 * Inference events for the ingest reliability tests: valid traffic (with the odd but valid: ids that
 * share a value, ids of lone surrogates and control characters, ids and names at their column sizes,
 * huge feature values, error events with NUL in their text) and hostile events made with fast-check
 * (each breaking one rule: too long or NUL-holding ids and names, bad times, latencies, rows, labels,
 * another project's, not JSON, ...), each hostile event with the reason it must be dead-lettered for
 * and whether it counts on its endpoint's errors.
 */
import fc from 'fast-check';
import { EVENT_LIMITS as L, wellFormed } from '../../src/common/event-limits.ts';
import type { InferenceEvent } from '../../src/common/types.ts';

/** An event to publish as it is, with what must become of it. */
export interface HostileEvent {
  raw: string;
  /** What the dead letter's reason must say. */
  reason: RegExp;
  /** The endpoint whose error count it adds to, when it names one of the project's within the limits. */
  countsOn: string | undefined;
}

/** Where the events go. */
export interface Traffic {
  project: string;
  endpoints: readonly string[];
  /** Epoch ms of the first event; events spread over `spanMs` after it. */
  t0: number;
  spanMs: number;
}

/** A valid prediction event of endpoint `ep`. */
export function validEvent(t: Traffic, ep: string, id: string, i: number, rows = 1 + (i % 3)): InferenceEvent {
  const inputs = Array.from({ length: rows }, (_, r) => [i + r, (i * 7 + r) % 13, (i % 5) / 4]);
  return {
    v: 1,
    endpointId: ep,
    project: t.project,
    function: 'serving',
    model: 'm',
    version: '1',
    when: new Date(t.t0 + (i * 2003) % t.spanMs).toISOString(),
    latencyUs: 100 + (i % 900),
    request: { id, inputs },
    response: { outputs: inputs.map((r) => r[0]! % 2) },
    featureNames: ['a', 'b', 'c'],
    labelNames: ['y'],
  };
}

/**
 * Valid traffic: `n` events over the endpoints, and among them events that test the edges of what is
 * valid. Returns the events and, per endpoint, the error events it holds.
 */
export function validTraffic(t: Traffic, n: number): { events: InferenceEvent[]; errorEvents: Map<string, number> } {
  const events: InferenceEvent[] = [];
  const errorEvents = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const ep = t.endpoints[i % t.endpoints.length]!;
    let id = `req-${i}`;
    // Requests that share an id (a client reusing it), ids that decode to one string.
    if (i % 50 === 7) id = 'dup-id-A';
    if (i % 50 === 8) id = '\uFFFD\uFFFD';
    if (i % 97 === 11) id = `lone-\ud800-${i}`;
    if (i % 97 === 12) id = `ctl-\u0001\u001b[31m-${i}`;
    if (i % 97 === 13) id = `${i}`.padEnd(L.requestIdChars, '😀');
    const e = validEvent(t, ep, id, i);
    // Finite but huge: their squares overflow the histogram's running sums.
    if (i % 89 === 5) e.request.inputs[0]![0] = 1.7e308;
    if (i % 71 === 3) {
      e.error = `model failed \u0000 on ${i}`;
      e.request.inputs = [];
      delete e.response;
      errorEvents.set(ep, (errorEvents.get(ep) ?? 0) + 1);
    }
    events.push(e);
  }
  return { events, errorEvents };
}

const x = (n: number): string => 'x'.repeat(n);

/**
 * `n` hostile events (seeded), each breaking one rule. `bigEvent`: include events past the event
 * size limit (a stream whose messages cannot hold them, NATS, never carries them).
 */
export function hostileEvents(t: Traffic, n: number, seed: number, bigEvent: boolean): HostileEvent[] {
  const ep = fc.constantFrom(...t.endpoints);
  const i = fc.integer({ min: 0, max: 1_000_000 });
  /** Text of `min`..`max` characters of any kind (astral, surrogates, controls). */
  const text = (min: number, max: number) => fc.string({ unit: 'binary', minLength: min, maxLength: max });
  const base = (e: string, k: number): Record<string, unknown> => validEvent(t, e, `h-${k}`, k) as unknown as Record<string, unknown>;
  const req = (o: Record<string, unknown>): Record<string, unknown> => o.request as Record<string, unknown>;
  /** A valid event of a random endpoint, changed by `change`, refused for `reason`. */
  const mutated = (change: fc.Arbitrary<(o: Record<string, unknown>) => void>, reason: RegExp, counts = true) =>
    fc.tuple(ep, i, change).map(([e, k, f]): HostileEvent => {
      const o = base(e, k);
      f(o);
      return { raw: JSON.stringify(o), reason, countsOn: counts ? e : undefined };
    });

  const kinds: fc.Arbitrary<HostileEvent>[] = [
    // The case: a request id past varchar(255), of any characters.
    mutated(text(0, 300).map((s) => (o) => void (req(o).id = `${x(L.requestIdChars + 1)}${s}`)), /request\.id is longer than 255 characters/),
    mutated(fc.tuple(text(0, 40), text(0, 40)).map(([a, b]) => (o) => void (req(o).id = `${a}\u0000${b}`)), /request\.id (holds a NUL character|is longer)/),
    mutated(fc.constantFrom<[string, number]>(['model', L.modelChars], ['function', L.functionChars], ['version', L.versionChars], ['tag', L.tagChars], ['modelUri', L.modelUriChars]).chain(([k, max]) =>
      text(max + 1, max + 40).filter((s) => [...s].length > max).map((s) => (o: Record<string, unknown>) => void (o[k] = s))), /is longer than \d+ characters|make an endpoint name longer/),
    mutated(fc.constantFrom('model', 'function', 'version', 'tag', 'modelUri').map((k) => (o: Record<string, unknown>) => void (o[k] = `a\u0000b`)), /holds a NUL character/),
    mutated(text(L.endpointIdChars + 1, 200).filter((s) => [...s].length > L.endpointIdChars).map((s) => (o) => void (o.endpointId = s)), /endpointId is longer than 128 characters/, false),
    mutated(fc.constant((o: Record<string, unknown>) => void (o.endpointId = 'e\u0000p')), /endpointId holds a NUL character/, false),
    mutated(fc.constantFrom('featureNames', 'labelNames').chain((k) =>
      text(L.featureNameChars + 1, 300).filter((s) => [...s].length > L.featureNameChars).map((s) => (o: Record<string, unknown>) => void (o[k] = [s]))), /Names\[0\] is longer than 255 characters/),
    mutated(fc.constant((o: Record<string, unknown>) => void (o.featureNames = Array.from({ length: L.featuresPerRow + 1 }, (_, j) => `f${j}`))), /featureNames has 2001 names/),
    mutated(fc.constantFrom<unknown>('abc', 7, [1, 'b', null], { a: 1 }).map((v) => (o) => void (o.featureNames = v)), /featureNames( must be a list|\[\d\] is not a string)/),
    mutated(fc.constantFrom<unknown>(-1, -0.5, 'fast', null, Number.POSITIVE_INFINITY, 2 ** 60, true).map((v) => (o) => void (o.latencyUs = v)), /latencyUs must be/),
    // (Date.parse takes more than ISO, `0` and `March 7` among them: those are times.)
    mutated(fc.oneof(text(0, 30).filter((s) => Number.isNaN(Date.parse(s))), fc.constantFrom<unknown>(12, null, '2026-13-45T00:00:00Z')).map((v) => (o) => void (o.when = v)), /event time .* is not an ISO time/),
    mutated(fc.constantFrom<unknown>([], 'rows', [1, 2], {}, null).map((v) => (o) => void (req(o).inputs = v)), /request\.inputs( must be a non-empty list of rows|\[0\] is not a row)/),
    mutated(fc.constant((o: Record<string, unknown>) => {
      req(o).inputs = Array.from({ length: L.rowsPerEvent + 1 }, () => [1]);
      delete o.response;
    }), /has 10001 rows, more than 10000/),
    mutated(fc.constant((o: Record<string, unknown>) => void (req(o).inputs = [Array.from({ length: L.featuresPerRow + 1 }, () => 0)])), /inputs\[0\] has 2001 values/),
    mutated(fc.integer({ min: 4, max: 9 }).map((k) => (o) => void (o.response = { outputs: Array.from({ length: k }, () => 1) })), /input rows but \d+ outputs/),
    mutated(fc.constantFrom<unknown>(42, { message: 'x' }, ['e']).map((v) => (o) => void (o.error = v)), /error must be a string/),
    mutated(fc.constant((o: Record<string, unknown>) => void (o.error = x(L.errorChars + 1))), /error is longer than 65536/),
    mutated(fc.constantFrom<unknown>(['a'], 'team', 3).map((v) => (o) => void (o.labels = v)), /labels must be an object/),
    mutated(fc.constant((o: Record<string, unknown>) => void (o.labels = Object.fromEntries(Array.from({ length: L.labels + 1 }, (_, j) => [`k${j}`, 'v'])))), /more than 100 labels/),
    mutated(fc.constantFrom('request', 'model', 'function').map((k) => (o: Record<string, unknown>) => void delete o[k]), /has no (request|model|function)/),
    mutated(fc.constant((o: Record<string, unknown>) => void delete o.project), /has no project/),
    mutated(fc.constant((o: Record<string, unknown>) => void (req(o).id = 12)), /request has no id/),
    // Another project's event in this project's stream: no endpoint of this project to count it on.
    mutated(text(1, 20).filter((s) => !s.includes('\u0000') && wellFormed(s) === s).map((s) => (o) => void (o.project = `other-${s}`)), /event names project .*, not '/, false),
    // Not an event at all.
    text(0, 200).filter((s) => !isJsonObject(s)).map((raw): HostileEvent => ({ raw, reason: /event is not valid JSON|event is not an object|event has no endpointId/, countsOn: undefined })),
    fc.constantFrom('null', '[]', '7', '"event"', '{}', '{"endpointId":42}').map((raw): HostileEvent => ({ raw, reason: /event is not (valid JSON|an object)|event has no endpointId/, countsOn: undefined })),
  ];
  const out = fc.sample(fc.oneof(...kinds), { numRuns: n, seed });
  if (bigEvent) {
    // Past the size limit: one long string value in an otherwise valid event.
    const e = base(t.endpoints[0]!, 1);
    req(e).inputs = [[x(L.eventChars)]];
    out.push({ raw: JSON.stringify(e), reason: /event text is \d+ characters, more than 1048576/, countsOn: t.endpoints[0] });
  }
  return out;
}

function isJsonObject(s: string): boolean {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}
