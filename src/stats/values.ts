/**
 * How a raw cell value counts for statistics: a finite number, missing, or something else
 * (a category). One place, so that reference stats, window stats and reports agree on what
 * "missing" means (SPEC: empty, null, NaN, ±Infinity are dropped and counted).
 */

/** The value is missing: null, undefined, empty, NaN, ±Infinity or a pandas NA token. */
export const MISSING = 'missing' as const;
/** The value is present but not numeric (a category). */
export const OTHER = 'other' as const;

/** A finite number, or why the value is not one. */
export type Coerced = number | typeof MISSING | typeof OTHER;

// pandas' default `na_values` for read_csv, so a CSV reads the same as in the peer's stack.
const NA_TOKENS = new Set([
  '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN',
  '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null',
]);
// Spellings of infinity that numeric parsers (pandas, numpy) accept; infinity is missing for us.
const INFINITY_TOKEN = /^[+-]?(?:inf|infinity)$/i;
const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Classifies one cell. Numbers, bigints, booleans (1/0, as the peer treats bool columns as
 * numeric) and decimal numeric strings (surrounding spaces allowed; no hex, no thousands
 * separators) are numbers; non-finite results are missing.
 */
export function coerceValue(v: unknown): Coerced {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? v : MISSING;
    case 'boolean':
      return v ? 1 : 0;
    case 'bigint': {
      const n = Number(v);
      return Number.isFinite(n) ? n : MISSING;
    }
    case 'string': {
      const s = v.trim();
      if (NA_TOKENS.has(s) || INFINITY_TOKEN.test(s)) return MISSING;
      if (!NUMERIC.test(s)) return OTHER;
      const n = Number(s);
      return Number.isFinite(n) ? n : MISSING;
    }
    case 'undefined':
      return MISSING;
    default:
      if (v === null) return MISSING;
      if (v instanceof Date && Number.isNaN(v.getTime())) return MISSING;
      return OTHER;
  }
}

/**
 * The number a text spells in plain decimal notation (`'12'`, `' -1.5e3 '`, `'.5'`), or
 * undefined. Used by the CSV reader, so that `'0x10'`, `'1,000'` or `'Infinity'` stay text.
 */
export function numericText(s: string): number | undefined {
  const t = s.trim();
  return NUMERIC.test(t) ? Number(t) : undefined;
}

/** True when the cell is missing (see {@link coerceValue}). */
export function isMissing(v: unknown): boolean {
  return coerceValue(v) === MISSING;
}

/** The category key of a present cell: strings as they are, dates as ISO text, objects as JSON. */
export function categoryKey(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}
