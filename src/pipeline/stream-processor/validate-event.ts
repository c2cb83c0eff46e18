import type { InferenceEvent } from '../../common/types.ts';

/** What {@link parseEvent} makes of an event. */
export type ParsedEvent = { ok: true; event: InferenceEvent; time: number } | { ok: false; error: string; endpointId?: string; project?: string };

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
  const e = o as Record<string, unknown>;
  const time = typeof e.when === 'string' ? Date.parse(e.when) : Number.NaN;
  const error = problemOf(e, time);
  if (error === undefined) return { ok: true, event: e as unknown as InferenceEvent, time };
  if (error === ERROR_EVENT) {
    const req = e.request as Record<string, unknown>;
    return { ok: true, event: { ...(e as unknown as InferenceEvent), request: { id: req.id as string, inputs: Array.isArray(req.inputs) ? (req.inputs as unknown[][]) : [] } }, time };
  }
  return {
    ok: false,
    error,
    endpointId: typeof e.endpointId === 'string' ? e.endpointId : undefined,
    project: typeof e.project === 'string' ? e.project : undefined,
  };
}

/** Marks a well-formed error event (its request needs no rows). */
const ERROR_EVENT = '';

/** What is wrong with a parsed event; undefined for a good prediction event, {@link ERROR_EVENT} for a good error event. */
function problemOf(e: Record<string, unknown>, time: number): string | undefined {
  if (typeof e.endpointId !== 'string' || !e.endpointId) return 'event has no endpointId';
  if (typeof e.project !== 'string' || !e.project) return 'event has no project';
  if (typeof e.model !== 'string' || !e.model) return 'event has no model';
  if (typeof e.function !== 'string') return 'event has no function';
  if (Number.isNaN(time)) return `event time ${JSON.stringify(e.when)} is not an ISO time`;
  if (typeof e.latencyUs !== 'number' || !Number.isFinite(e.latencyUs) || e.latencyUs < 0) return 'event latencyUs must be a non-negative number';
  const req = e.request as Record<string, unknown> | undefined;
  if (!req || typeof req !== 'object') return 'event has no request';
  if (typeof req.id !== 'string') return 'event request has no id';
  if (e.error !== undefined) return typeof e.error !== 'string' ? 'event error must be a string' : ERROR_EVENT;
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) return 'event request.inputs must be a non-empty list of rows';
  const inputs = req.inputs as unknown[];
  for (let i = 0; i < inputs.length; i++) {
    if (!Array.isArray(inputs[i])) return `event request.inputs[${i}] is not a row (array)`;
  }
  const res = e.response as Record<string, unknown> | undefined;
  const outputs = res && Array.isArray(res.outputs) ? (res.outputs as unknown[]) : [];
  if (outputs.length !== 0 && outputs.length !== inputs.length) return `event has ${inputs.length} input rows but ${outputs.length} outputs`;
  return undefined;
}
