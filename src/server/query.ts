import { ValidationError } from '../common/errors.ts';
import type { SeriesQuery } from '../store/tsdb-port.ts';

/** Query string of the result and metric routes. */
export interface SeriesQueryString {
  endpoint?: string;
  app?: string;
  name?: string;
  start?: string;
  end?: string;
  limit?: string;
}

/** A time given as epoch milliseconds or ISO-8601. */
export function parseTimeParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(`${name} must be epoch milliseconds or an ISO-8601 time, got '${value}'`);
  return ms;
}

/** Builds a tsdb query from the query string; `endpointId` from the path beats `?endpoint`. */
export function seriesQuery(q: SeriesQueryString, endpointId?: string): SeriesQuery {
  const out: SeriesQuery = {};
  const ep = endpointId ?? q.endpoint;
  if (ep) out.endpointId = ep;
  if (q.app) out.app = q.app;
  if (q.name) out.name = q.name;
  const start = parseTimeParam('start', q.start);
  const end = parseTimeParam('end', q.end);
  if (start !== undefined) out.start = start;
  if (end !== undefined) out.end = end;
  if (start !== undefined && end !== undefined && end < start) throw new ValidationError('end must not be before start');
  if (q.limit !== undefined) out.limit = Number(q.limit);
  return out;
}
