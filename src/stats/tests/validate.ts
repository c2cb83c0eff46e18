/**
 * Input checks shared by the drift tests. Samples arrive with missing values already removed
 * (SPEC section 4), so a non-finite value here is a caller bug, not data to test.
 */
import { ValidationError } from '../../common/errors.ts';

/**
 * Throws ValidationError unless `values` is non-empty and every value is finite.
 * Empty samples are rejected because no test statistic exists for them (scipy raises too).
 */
export function requireSample(values: Float64Array, name: string): void {
  if (values.length === 0) throw new ValidationError(`${name} must not be empty`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new ValidationError(`${name} must hold finite numbers (missing values removed first), got ${v} at index ${i}`);
    }
  }
}

/** A sorted copy; the caller's array is never reordered. Typed-array sort is numeric and O(n log n). */
export function sortedCopy(values: Float64Array): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * Checks a vector of counts or shares (finite, ≥ 0, not all zero) and returns its sum.
 * An all-zero vector is an empty histogram: there is no distribution to compare.
 */
export function requireFrequencies(values: ArrayLike<number>, name: string): number {
  if (values.length === 0) throw new ValidationError(`${name} must not be empty`);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v) || v < 0) {
      throw new ValidationError(`${name}[${i}] must be a finite number >= 0, got ${v}`);
    }
    sum += v;
  }
  if (sum === 0) throw new ValidationError(`${name} has no mass (all zero): nothing to compare`);
  return sum;
}

/** Throws ValidationError unless both vectors have the same length (same bins or categories). */
export function requireSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) {
    throw new ValidationError(`${what} must have the same length, got ${a.length} and ${b.length}`);
  }
}
