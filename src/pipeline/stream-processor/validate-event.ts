import type { InferenceEvent } from '../../common/types.ts';

/**
 * Checks an event from the stream and parses its time (epoch ms). Bad events are counted as
 * endpoint errors, never thrown.
 */
export function parseEvent(raw: string): { ok: true; event: InferenceEvent; time: number } | { ok: false; error: string; endpointId?: string; project?: string } {
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'event is not valid JSON' };
  }
  if (typeof o !== 'object' || o === null) return { ok: false, error: 'event is not an object' };
  const e = o as Record<string, unknown>;
  const endpointId = typeof e.endpointId === 'string' ? e.endpointId : undefined;
  const project = typeof e.project === 'string' ? e.project : undefined;
  const fail = (error: string) => ({ ok: false as const, error, endpointId, project });
  if (!endpointId) return fail('event has no endpointId');
  if (!project) return fail('event has no project');
  if (typeof e.model !== 'string' || !e.model) return fail('event has no model');
  if (typeof e.function !== 'string') return fail('event has no function');
  const time = typeof e.when === 'string' ? Date.parse(e.when) : Number.NaN;
  if (Number.isNaN(time)) return fail(`event time ${JSON.stringify(e.when)} is not an ISO time`);
  if (typeof e.latencyUs !== 'number' || !Number.isFinite(e.latencyUs) || e.latencyUs < 0) return fail('event latencyUs must be a non-negative number');
  const req = e.request as Record<string, unknown> | undefined;
  if (!req || typeof req !== 'object') return fail('event has no request');
  if (typeof req.id !== 'string') return fail('event request has no id');
  if (e.error !== undefined) {
    if (typeof e.error !== 'string') return fail('event error must be a string');
    return { ok: true, event: { ...(e as unknown as InferenceEvent), request: { id: req.id, inputs: Array.isArray(req.inputs) ? (req.inputs as unknown[][]) : [] } }, time };
  }
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) return fail('event request.inputs must be a non-empty list of rows');
  const inputs = req.inputs as unknown[];
  for (let i = 0; i < inputs.length; i++) {
    if (!Array.isArray(inputs[i])) return fail(`event request.inputs[${i}] is not a row (array)`);
  }
  const res = e.response as Record<string, unknown> | undefined;
  const outputs = res && Array.isArray(res.outputs) ? (res.outputs as unknown[]) : [];
  if (outputs.length !== 0 && outputs.length !== req.inputs.length) {
    return fail(`event has ${req.inputs.length} input rows but ${outputs.length} outputs`);
  }
  return { ok: true, event: e as unknown as InferenceEvent, time };
}
