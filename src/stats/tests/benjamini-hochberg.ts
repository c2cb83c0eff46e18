/**
 * Benjamini–Hochberg adjustment of p-values across columns (issue 3: optional correction of
 * the p-value tests), as `scipy.stats.false_discovery_control(ps, method='bh')`.
 */
import { ValidationError } from '../../common/errors.ts';

/**
 * Adjusted p-values in the input order: sorted ascending, p_(i) · m / i, then a running
 * minimum from the largest down, clipped to [0, 1]. Fewer than two p-values are returned as
 * they are (scipy does the same).
 *
 * @throws ValidationError when a p-value is not a number in [0, 1].
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new ValidationError(`p-values must be numbers in [0, 1], got ${p} at index ${i}`);
  });
  const m = pValues.length;
  if (m <= 1) return pValues.slice();
  const order = pValues.map((_, i) => i).sort((i, j) => (pValues[i] as number) - (pValues[j] as number));
  const adjusted = order.map((idx, rank) => (pValues[idx] as number) * (m / (rank + 1)));
  for (let r = m - 2; r >= 0; r--) adjusted[r] = Math.min(adjusted[r] as number, adjusted[r + 1] as number);
  const out = new Array<number>(m);
  order.forEach((idx, rank) => {
    out[idx] = Math.min(Math.max(adjusted[rank] as number, 0), 1);
  });
  return out;
}
