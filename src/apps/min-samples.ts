import { ValidationError } from '../common/errors.ts';

/** Fewest rows a built-in drift app judges a window on, unless its `minSamples` option says otherwise. */
export const DEFAULT_MIN_SAMPLES = 50;

/**
 * The `minSamples` option of built-in app `app`, or its default.
 * @throws ValidationError when it is not a whole number ≥ 0
 */
export function minSamplesOption(app: string, value: unknown): number {
  const n = value ?? DEFAULT_MIN_SAMPLES;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new ValidationError(`${app} option minSamples must be a whole number >= 0, got ${JSON.stringify(n)}`);
  }
  return n;
}

/** Why a window of `rows` rows is not judged, or undefined when it holds enough. */
export function tooFewRows(rows: number, minSamples: number): string | undefined {
  return rows < minSamples ? `the window holds ${rows} row${rows === 1 ? '' : 's'}, fewer than minSamples (${minSamples}): too few to judge drift` : undefined;
}
