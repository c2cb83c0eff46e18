/**
 * What a failed ingest write says about its events:
 * - `data`: the engine refused a value (too long, out of range, not valid text, a constraint), or
 *   our own code choked on an event: some event of the batch is at fault, so the batch is split to
 *   find it, and an event that fails on its own is dead-lettered;
 * - `timeout`: the write ran out of time (a statement or lock timeout): smaller parts may pass, so
 *   the batch is split, but one event timing out is no fault of its own and is not dead-lettered;
 * - `infrastructure`: anything else (the connection, the server, the disk, locks, a checkpoint
 *   moved by another processor, an error we do not know): no event is at fault, none is
 *   dead-lettered; the events are read again later.
 * Unknown errors count as infrastructure: a bug or an outage must never turn good events into dead
 * letters.
 */
export type WriteFailure = 'data' | 'timeout' | 'infrastructure';

/**
 * MySQL/MariaDB errors about a value: null, row size, out of range, truncated, wrong value,
 * incorrect string, data too long, invalid JSON, a CHECK constraint (MySQL 3819, MariaDB 4025).
 */
const MYSQL_DATA = new Set([1048, 1118, 1264, 1265, 1292, 1301, 1366, 1367, 1406, 1411, 3140, 3819, 4025]);
/** MySQL/MariaDB lock wait and statement time limits. */
const MYSQL_TIMEOUT = new Set([1205, 3024, 1969]);

/** Classifies an error thrown while an ingest batch was prepared or written (see {@link WriteFailure}). */
export function writeFailure(err: unknown): WriteFailure {
  if (err === null || typeof err !== 'object') return 'infrastructure';
  const e = err as { code?: unknown; errno?: unknown; name?: unknown; sqlState?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code?.startsWith('SQLITE_')) {
    return /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)/.test(code) ? 'data' : 'infrastructure';
  }
  if (typeof e.errno === 'number' && (code?.startsWith('ER_') || typeof e.sqlState === 'string')) {
    if (MYSQL_DATA.has(e.errno)) return 'data';
    return MYSQL_TIMEOUT.has(e.errno) ? 'timeout' : 'infrastructure';
  }
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    // PostgreSQL SQLSTATE: 22 data exception, 23 integrity constraint, 54 program limit (a value too large to index).
    if (code === '57014') return 'timeout';
    const cls = code.slice(0, 2);
    return cls === '22' || cls === '23' || cls === '54' ? 'data' : 'infrastructure';
  }
  // Our own code choking on an event's content.
  if (code === undefined && (e.name === 'TypeError' || e.name === 'RangeError' || e.name === 'SyntaxError')) return 'data';
  return 'infrastructure';
}
