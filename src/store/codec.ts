/**
 * Value codecs shared by the SQL store and tsdb. JSON is kept in text columns and numbers may come
 * back from a driver as strings (pg returns bigint that way), so every read goes through here.
 */

/** Encodes a value for a JSON text column. */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Decodes a JSON text column, falling back when it is empty or null. */
export function fromJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  const v = JSON.parse(text) as T | null;
  return v ?? fallback;
}

/** A numeric column as a number. */
export function num(value: number | string | bigint | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** A nullable numeric column as a number or null. */
export function numOrNull(value: number | string | bigint | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/**
 * JSON has no NaN or ±Infinity; they would come back as null. Measures that are not finite are
 * stored as null on purpose rather than by accident.
 */
export function finiteOrNull(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}
