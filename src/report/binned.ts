/**
 * Drift scores on binned counts (categories, distinct values, Sturges bins or the 22-bin
 * reference histogram): chi-square, z-test and the share distances. Shared by the report
 * (raw data binned here) and the monitoring app (reference histograms only).
 */
import { ValidationError } from '../common/errors.ts';
import {
  chiSquareTest,
  hellingerDistance,
  jensenShannonDistance,
  klDivergence,
  proportionZTest,
  psi,
  totalVariationDistance,
} from '../stats/tests/index.ts';
import { METHODS, type DriftMethod } from './methods.ts';

/** A score and, for tests, the statistic behind it. */
export interface Score {
  score: number;
  statistic?: number;
}

/** Counts of reference and current on the same bins, in bin order. */
export interface BinnedCounts {
  reference: ArrayLike<number>;
  current: ArrayLike<number>;
}

/**
 * A binned method's score. Shares are counts / side total (totals of the counts given).
 * - `chisquare`: observed = current counts, expected = reference counts × n_cur / n_ref, over
 *   bins where either side has values (a bin only the current has gives p = 0);
 * - `z`: two-proportion z-test of "not the first bin" (Evidently's z-test: first key vs the
 *   rest); p = 1 when all values of both sides are in one bin;
 * - `jensenshannon`, `hellinger`, `tvd`: on raw shares; `psi`, `kl`: on shares whose zeros
 *   the engine replaces as Evidently does (`feel_zeroes`); `kl` is KL(reference ‖ current).
 *
 * @throws ValidationError for a method that is not binned or a side without values.
 */
export function binnedScore(method: DriftMethod, counts: BinnedCounts): Score {
  if (!METHODS[method].binned) throw new ValidationError(`method '${method}' does not work on binned data`);
  const { reference, current } = counts;
  if (reference.length !== current.length) throw new ValidationError('reference and current bins differ in number');
  const nRef = total(reference);
  const nCur = total(current);
  if (nRef === 0 || nCur === 0) throw new ValidationError('binned drift needs values on both sides');
  switch (method) {
    case 'chisquare':
      return chiSquare(reference, current, nRef, nCur);
    case 'z':
      return zTest(reference, current, nRef, nCur);
    default:
      break;
  }
  const p = shares(reference, nRef);
  const q = shares(current, nCur);
  switch (method) {
    case 'jensenshannon':
      return { score: jensenShannonDistance(p, q) };
    case 'psi':
      return { score: psi(p, q) };
    case 'kl':
      return { score: klDivergence(p, q) };
    case 'hellinger':
      return { score: hellingerDistance(p, q) };
    default:
      return { score: totalVariationDistance(p, q) };
  }
}

function chiSquare(reference: ArrayLike<number>, current: ArrayLike<number>, nRef: number, nCur: number): Score {
  const k = nCur / nRef;
  const observed: number[] = [];
  const expected: number[] = [];
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i] as number;
    const c = current[i] as number;
    if (r === 0 && c === 0) continue;
    observed.push(c);
    expected.push(r * k);
  }
  const res = chiSquareTest(observed, expected);
  return { score: res.pValue, statistic: res.statistic };
}

function zTest(reference: ArrayLike<number>, current: ArrayLike<number>, nRef: number, nCur: number): Score {
  let first = -1;
  for (let i = 0; i < reference.length && first < 0; i++) if ((reference[i] as number) + (current[i] as number) > 0) first = i;
  const s1 = nRef - (reference[first] as number);
  const s2 = nCur - (current[first] as number);
  // Everything in one bin on both sides: no difference to test (Evidently returns 1).
  if (s1 + s2 === 0) return { score: 1, statistic: 0 };
  const res = proportionZTest(s1, nRef, s2, nCur);
  return { score: res.pValue, statistic: res.statistic };
}

function total(counts: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i] as number;
  return s;
}

function shares(counts: ArrayLike<number>, sum: number): Float64Array {
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = (counts[i] as number) / sum;
  return out;
}
