/**
 * Distances between two histograms on the same bins (SPEC section 4), with the numbers of
 * MLRun's HistogramDistanceMetric classes (TVD, Hellinger, symmetric KL with zero scaling).
 */
import { ValidationError } from '../common/errors.ts';

/** Per-feature drift measures. */
export interface HistogramDistances {
  tvd: number;
  hellinger: number;
  kld: number;
}

/** Replaces zero shares in the second argument of KL, as the peer's `zero_scaling` default. */
export const KL_ZERO_SCALING = 1e-4;

/**
 * TVD, Hellinger distance and symmetric KL divergence between the shares of two count
 * vectors on the same bins: p = current / Σcurrent, q = reference / Σreference;
 * TVD = Σ|p−q|/2, Hellinger = √max(1 − Σ√(p·q), 0), KLD = KL(p‖q) + KL(q‖p) where
 * KL(a‖b) = Σ a·ln(a/b) skips a = 0 terms and uses 1e-4 for b = 0. Hellinger is computed as
 * √(Σ(√p − √q)²/2), the same number without the cancellation, so equal shares give exactly 0.
 *
 * Empty histograms (total 0), where the peer returns NaN:
 * - both empty → `{ tvd: 0, hellinger: 0, kld: 0 }` (nothing differs);
 * - one empty → its shares are taken as all 0 and the formulas apply as written, which
 *   gives tvd 0.5, hellinger 1 and kld = KL(other‖0) with zero scaling. Callers that would
 *   rather leave such a feature out (no data in the window) must check totals first.
 *
 * @throws ValidationError when lengths differ or a count is negative or not finite.
 */
export function histogramDistances(current: readonly number[], reference: readonly number[]): HistogramDistances {
  if (current.length !== reference.length) {
    throw new ValidationError(`histograms have different bin counts: ${current.length} vs ${reference.length}`);
  }
  const pTotal = total(current, 'current');
  const qTotal = total(reference, 'reference');
  if (pTotal === 0 && qTotal === 0) return { tvd: 0, hellinger: 0, kld: 0 };
  const p = shares(current, pTotal);
  const q = shares(reference, qTotal);
  let absDiff = 0;
  let squaredRootDiff = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    absDiff += Math.abs(a - b);
    const d = Math.sqrt(a) - Math.sqrt(b);
    squaredRootDiff += d * d;
  }
  return {
    tvd: absDiff / 2,
    // 1 − Σ√(pq) = Σ(√p − √q)²/2 for shares that sum to 1; the right side has no cancellation, so
    // that equal shares give exactly 0 (the left gave up to 1.5e-8: the square root of a rounding).
    // With one side empty (all shares 0) the left side is 1.
    hellinger: pTotal === 0 || qTotal === 0 ? 1 : Math.sqrt(Math.min(squaredRootDiff / 2, 1)),
    kld: klDivergence(p, q) + klDivergence(q, p),
  };
}

/** KL(a‖b) with the peer's conventions: 0·ln(0/x) = 0, and b = 0 replaced by 1e-4. */
function klDivergence(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] as number;
    if (ai === 0) continue;
    const bi = b[i] as number;
    sum += ai * Math.log(ai / (bi === 0 ? KL_ZERO_SCALING : bi));
  }
  return sum;
}

function total(counts: readonly number[], which: string): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    if (!Number.isFinite(c) || c < 0) {
      throw new ValidationError(`${which} histogram count at bin ${i} must be a finite number >= 0, got ${c}`);
    }
    sum += c;
  }
  return sum;
}

function shares(counts: readonly number[], sum: number): number[] {
  return sum === 0 ? counts.map(() => 0) : counts.map((c) => c / sum);
}
