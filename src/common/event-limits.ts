import { LIMITS } from './limits.ts';

/**
 * The limits an inference event must keep to be stored, one table for every backend. Rows per
 * request, values per row, feature names and request ids are the input limits of {@link LIMITS}
 * (serving checks the same on each request); the other character limits are the schema's column
 * sizes (`varchar(n)` in `store/migrations/001-initial.ts`, counted in characters, i.e. code points,
 * as PostgreSQL and MySQL count them). SQLite would store longer values, yet an event that
 * PostgreSQL or MySQL would refuse is refused on SQLite too, so that the same traffic stores the same
 * rows whichever backend holds them. The event's whole text is kept within NATS's default message
 * size (1 MiB), which also keeps one row, escaped, under MariaDB's `max_allowed_packet`. Events
 * beyond these are dead-lettered (the `dead_letters` table), never stored in part.
 */
export const EVENT_LIMITS = Object.freeze({
  /** `project` (projects.name varchar(64)). */
  projectChars: 64,
  /** `endpointId` (endpoints.id varchar(128)). */
  endpointIdChars: 128,
  /** `function` (endpoints.function varchar(64)). */
  functionChars: 64,
  /** `model`, and `model:version`, the endpoint's name (endpoints.model and endpoints.name varchar(255)). */
  modelChars: 255,
  /** `version` (endpoints.model_version varchar(64)). */
  versionChars: 64,
  /** `tag` (endpoints.tag varchar(64)). */
  tagChars: 64,
  /** `modelUri` (endpoints.model_uri varchar(1024)). */
  modelUriChars: 1024,
  /** `request.id` (predictions.request_id and errors.request_id varchar(255)). */
  requestIdChars: LIMITS.requestIdChars,
  /** Each of `featureNames` and `labelNames` (window_histograms.feature varchar(255)). */
  featureNameChars: LIMITS.featureNameChars,
  /** Values per input row, and names in `featureNames` and in `labelNames`. */
  featuresPerRow: LIMITS.featuresPerRow,
  /** Rows of one request. */
  rowsPerEvent: LIMITS.rowsPerRequest,
  /** Entries of `labels`. */
  labels: 100,
  /** A label's key. */
  labelKeyChars: 255,
  /** A label's value. */
  labelValueChars: 4096,
  /** An error event's `error` text. */
  errorChars: 65_536,
  /** The event's whole JSON text. */
  eventChars: 1_048_576,
  /** `latencyUs` (a bigint column: a safe integer). */
  latencyUs: Number.MAX_SAFE_INTEGER,
});

/** What a dead letter keeps of its event and reason (see the `dead_letters` table). */
export const DEAD_LETTER_LIMITS = Object.freeze({
  /** Characters (UTF-16 units) of the event's text kept; `event_chars` records its whole length. */
  eventChars: 65_536,
  /** Characters of the reason kept. */
  reasonChars: 2000,
});

/** Whether `s` holds more than `max` characters (code points), counted only as far as needed. */
export function exceedsChars(s: string, max: number): boolean {
  // UTF-16 units are at least as many as code points, and at most twice as many.
  if (s.length <= max) return false;
  if (s.length > 2 * max) return true;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    if (++n > max) return true;
  }
  return false;
}

/**
 * What is wrong with `s` as a value of a `max`-character column, or undefined: too long, or
 * holding NUL, which PostgreSQL's text refuses (so every backend refuses it).
 */
export function columnTextProblem(what: string, s: string, max: number): string | undefined {
  if (exceedsChars(s, max)) return `${what} is longer than ${max} characters`;
  if (s.includes('\0')) return `${what} holds a NUL character`;
  return undefined;
}

/**
 * {@link columnTextProblem} for a name (endpoint, model, feature, ...): also refused when it holds a
 * lone surrogate, which no backend stores as it is (PostgreSQL and MySQL store U+FFFD, SQLite bytes
 * that read back as three), so that names are the same wherever they are kept.
 */
export function nameProblem(what: string, s: string, max: number): string | undefined {
  return columnTextProblem(what, s, max) ?? (LONE_SURROGATE.test(s) ? `${what} is not well-formed Unicode (it holds a lone surrogate)` : undefined);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * `s` with each lone surrogate replaced by U+FFFD, as PostgreSQL and MySQL store it; SQLite would
 * keep bytes that read back otherwise. Request ids and free text go through it before they are stored.
 */
export function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATES, '\uFFFD') : s;
}

/**
 * `s` cut to at most `max` UTF-16 units (never between the two halves of a surrogate pair), NUL
 * characters and lone surrogates replaced by U+FFFD: free text that every backend stores alike.
 */
export function storableText(s: string, max: number): string {
  let t = s.length > max ? s.slice(0, max) : s;
  if (t.length < s.length) {
    const last = t.charCodeAt(t.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) t = t.slice(0, -1);
  }
  return wellFormed(t.includes('\0') ? t.replace(/\0/g, '\uFFFD') : t);
}
