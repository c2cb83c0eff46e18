/** Summary statistics of finite numbers, as pandas' `describe()` reports them. */

/** count, mean, sample std (ddof = 1), min and max of a numeric column. */
export interface NumericSummary {
  count: number;
  /** Absent when count is 0. */
  mean?: number;
  /** Sample standard deviation (ddof = 1, like pandas); absent when count < 2 (pandas gives NaN). */
  std?: number;
  min?: number;
  max?: number;
}

/**
 * Summarizes finite numbers (callers drop missing values first). Mean and std are two-pass
 * (as pandas' nanops) with compensated summation; when plain sums would overflow (values near
 * ±1e308) they are recomputed on scaled values, so the result stays finite where the true
 * value is.
 */
export function summarize(values: ArrayLike<number>): NumericSummary {
  const n = values.length;
  if (n === 0) return { count: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = meanOf(values, Math.max(Math.abs(min), Math.abs(max)));
  const out: NumericSummary = { count: n, mean, min, max };
  if (n >= 2) out.std = sampleStd(values, mean);
  return out;
}

function meanOf(values: ArrayLike<number>, absMax: number): number {
  const n = values.length;
  const plain = neumaierSum(values, 0, 1) / n;
  if (Number.isFinite(plain) || absMax === 0) return plain;
  return neumaierSum(values, 0, absMax) * (absMax / n);
}

function sampleStd(values: ArrayLike<number>, mean: number): number {
  const n = values.length;
  const plain = Math.sqrt(neumaierSquares(values, mean, 1) / (n - 1));
  if (Number.isFinite(plain)) return plain;
  // Squares overflowed: scale deviations by the largest one, then scale back.
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs((values[i] as number) - mean));
  if (!Number.isFinite(scale)) scale = Number.MAX_VALUE;
  return scale * Math.sqrt(neumaierSquares(values, mean, scale) / (n - 1));
}

/** Σ (x - shift) / scale with Neumaier compensation (more exact than numpy's pairwise sum). */
function neumaierSum(values: ArrayLike<number>, shift: number, scale: number): number {
  let sum = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const x = ((values[i] as number) - shift) / scale;
    const t = sum + x;
    c += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  return sum + c;
}

/** Σ ((x - mean) / scale)² with Neumaier compensation. */
function neumaierSquares(values: ArrayLike<number>, mean: number, scale: number): number {
  let sum = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    // Halve before subtracting when needed so that x - mean cannot overflow.
    const d = scale === 1 ? (values[i] as number) - mean : ((values[i] as number) / 2 - mean / 2) / (scale / 2);
    const x = d * d;
    const t = sum + x;
    c += sum >= x ? sum - t + x : x - t + sum;
    sum = t;
  }
  return sum + c;
}
