import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { ValidationError } from '../common/errors.ts';
import type { SeriesQuery } from '../store/tsdb-port.ts';
import { noQuerystring } from './schemas.ts';

/** Query string of the result and metric routes. */
export interface SeriesQueryString {
  endpoint?: string;
  app?: string;
  name?: string;
  start?: string;
  end?: string;
  limit?: string;
}

// ISO-8601 as the API takes it: a date, optionally a time (seconds, fractions) and an offset.
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** Dates beyond this are not dates (ECMAScript's range, ±100,000,000 days around 1970). */
const MAX_TIME_MS = 8.64e15;

/**
 * A time given as epoch milliseconds or ISO-8601 (`2024-05-01`, `2024-05-01T10:00:00Z`,
 * `2024-05-01T10:00:00.123+02:00`). Anything else is refused: the platform's date parser would
 * read `a' OR '1'='1` as the year 2001.
 */
export function parseTimeParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  let ms = Number.NaN;
  if (/^-?\d{1,16}$/.test(value)) ms = Number(value);
  else {
    const m = ISO_TIME.exec(value);
    // Date.parse rolls 2024-02-30 over into March; the day must exist in its month.
    if (m && validDay(Number(m[1]), Number(m[2]), Number(m[3]))) ms = Date.parse(value);
  }
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_TIME_MS) {
    throw new ValidationError(`${name} must be epoch milliseconds or an ISO-8601 time (2024-05-01T10:00:00Z), got '${value}'`);
  }
  return ms;
}

function validDay(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
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

/**
 * Every route checks its query string: a route that declares none takes no parameters, so an
 * unknown or misspelt parameter is refused (400) everywhere, as unknown body properties are,
 * rather than ignored on some routes. Install before the routes are added.
 */
export function installQueryChecks(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: noQuerystring };
  });
}

/** Validation messages that name what is wrong: the unknown parameter or property, the bad value's place. */
export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0];
  if (!e) return new Error(`${dataVar} is not valid`);
  const at = `${dataVar}${e.instancePath}`;
  const extra = (e.params as { additionalProperty?: unknown }).additionalProperty;
  if (e.keyword === 'additionalProperties' && typeof extra === 'string') {
    return new Error(dataVar === 'querystring' ? `unknown query parameter '${extra}'` : `${at} has an unknown property '${extra}'`);
  }
  return new Error(`${at} ${e.message ?? 'is not valid'}`);
}
