/**
 * The limits every input must meet, in one table: serving checks them on each request (answering
 * 400 or 413) and ingest on each event, so that ingest takes the event of every request serving
 * accepts. Size apart: a request whose event would pass the event's 1 MiB (EVENT_LIMITS.eventChars)
 * is tracked as several events, its rows split (tracking/request-events.ts); a single row too
 * large for an event of its own is tracked as an error event of its request instead.
 * Extend this table rather than writing a limit down in a second place.
 */
export const LIMITS = {
  /** Rows (predictions) in one inference request. */
  rowsPerRequest: 10_000,
  /** Values (features) in one row. */
  featuresPerRow: 2_000,
  /** UTF-16 code units of one string value (a categorical feature, a BYTES element). */
  stringChars: 8_192,
  /** Characters of a feature name (a tensor's name, a row object's key). */
  featureNameChars: 255,
  /** Characters of a request id: `predictions.request_id` is varchar(255) on every backend. */
  requestIdChars: 255,
} as const;

/** Shape of {@link LIMITS}: what can be overridden per server. */
export type InputLimits = { -readonly [K in keyof typeof LIMITS]: number };

/** Ranges of the monitoring settings: a number beyond them is refused (400), not stored. */
export const SETTING_LIMITS = {
  /** Longest base period: one week, in minutes. */
  basePeriodMinutes: 10_080,
  /** Longest grace for late events: one day, in seconds. */
  graceSeconds: 86_400,
  /** Most windows the controller catches up on per tick. */
  maxWindowsPerTick: 10_000,
  /** Longest a deploy may wait for its function to run, in seconds (less than REST's idle timeout). */
  deployTimeoutSeconds: 600,
} as const;

/** Largest bodies of the HTTP servers, in bytes. */
export const BODY_LIMITS = {
  /** REST routes that take options, not data (a project, a function spec, credentials). */
  restBytes: 1024 * 1024,
  /**
   * Model uploads and training sets (`POST /models/:key`), unless `modelwatch up --max-upload-mb`
   * says otherwise. A training set is parsed and profiled in memory: measured at about 6× its
   * JSON size for numeric columns and up to 30× for columns of distinct strings, so 32 MiB stays
   * under about 1 GB at worst while holding some 300,000 rows of ten numeric features.
   */
  uploadBytes: 32 * 1024 * 1024,
  /** An inference request (serving's infer, and REST invoke, which carries one). */
  inferBytes: 8 * 1024 * 1024,
} as const;

/**
 * Timeouts of an HTTP server (milliseconds). A client that sends its headers or body too slowly
 * (or not at all) is cut off, so that it cannot hold a connection and its buffers open.
 */
export interface HttpTimeouts {
  /** From the first byte of a request to the end of its headers (node `headersTimeout`). */
  headersMs: number;
  /** From the first byte of a request to the end of its body (node `requestTimeout`). */
  requestMs: number;
  /** An idle keep-alive connection is closed after this (node `keepAliveTimeout`). */
  keepAliveMs: number;
  /**
   * A connection on which nothing moves (no byte received or sent) for this long is closed
   * (fastify `connectionTimeout`, node `server.timeout`); longer than the slowest handler.
   */
  idleMs: number;
}

/** Timeouts of the REST server; the request timeout leaves room for an upload at the largest body. */
export const REST_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 120_000, keepAliveMs: 72_000, idleMs: 900_000 };

/** Timeouts of a serving function's server: inference bodies are small and models answer quickly. */
export const SERVING_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000, idleMs: 120_000 };

/** How long a graceful shutdown may take before what is left is cut off (milliseconds). */
export const SHUTDOWN_DEADLINE_MS = 10_000;
