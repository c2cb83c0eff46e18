/**
 * The numbers of the built-in `histogram-data-drift` app (SPEC section 4), as a pure
 * function so that the app, backfill and the offline report share one implementation.
 */
import { ValidationError } from '../common/errors.ts';
import type { FeatureStatsMap } from '../common/types.ts';
import { histogramDistances, type HistogramDistances } from '../stats/histogram-distance.ts';

/** Drift thresholds on general_drift; the peer hard-coded 0.5 and 0.7. */
export interface DriftThresholds {
  /** general_drift ≥ this → potential detection (status 1). Default 0.5. */
  potentialThreshold?: number;
  /** general_drift ≥ this → detected (status 2). Default 0.7. */
  detectedThreshold?: number;
}

/** Outcome of {@link histogramDrift}. */
export interface HistogramDriftResult {
  /** Per-feature measures, for the features that were compared. */
  features: Record<string, HistogramDistances>;
  hellingerMean: number;
  kldMean: number;
  tvdMean: number;
  /** mean(hellingerMean, tvdMean). */
  generalDrift: number;
  /** 0 no_detection, 1 potential_detection, 2 detected. */
  status: 0 | 1 | 2;
  /** Features with a reference histogram and current counts that were left out, and why. */
  skipped: Record<string, 'no current data' | 'empty reference'>;
}

/** Default potential-detection threshold (the peer's). */
export const DEFAULT_POTENTIAL_THRESHOLD = 0.5;
/** Default detected threshold (the peer's). */
export const DEFAULT_DETECTED_THRESHOLD = 0.7;

/**
 * Per-feature TVD, Hellinger and KLD between current counts (on the reference edges) and the
 * reference histogram, their means, general_drift and its status.
 *
 * Features compared: those with a reference `hist` and an entry in `current`, in the
 * reference's key order. Left out (listed in `skipped`): a feature whose current counts sum
 * to 0 (every value missing in the window — no distribution to compare) or whose reference
 * counts sum to 0. With no feature compared, all means and general_drift are 0 and status 0;
 * callers can tell that case by `Object.keys(features).length === 0`.
 *
 * @throws ValidationError for thresholds outside 0 ≤ potential ≤ detected ≤ 1, or current
 *   counts whose length differs from the reference histogram's.
 */
export function histogramDrift(
  reference: Readonly<FeatureStatsMap>,
  current: Readonly<Record<string, readonly number[]>>,
  opts: DriftThresholds = {},
): HistogramDriftResult {
  const potential = opts.potentialThreshold ?? DEFAULT_POTENTIAL_THRESHOLD;
  const detected = opts.detectedThreshold ?? DEFAULT_DETECTED_THRESHOLD;
  // `!(...)` so that NaN thresholds are rejected too.
  if (!(potential >= 0 && potential <= detected && detected <= 1)) {
    throw new ValidationError('drift thresholds must satisfy 0 <= potentialThreshold <= detectedThreshold <= 1', {
      potentialThreshold: potential,
      detectedThreshold: detected,
    });
  }

  const features: Record<string, HistogramDistances> = {};
  const skipped: HistogramDriftResult['skipped'] = {};
  for (const [name, stats] of Object.entries(reference)) {
    const refCounts = stats.hist?.counts;
    const cur = Object.hasOwn(current, name) ? current[name] : undefined;
    if (!refCounts || !cur) continue;
    if (cur.length !== refCounts.length) {
      throw new ValidationError(
        `feature '${name}': ${cur.length} current counts do not match the ${refCounts.length} reference bins`,
      );
    }
    if (sum(refCounts) === 0) skipped[name] = 'empty reference';
    else if (sum(cur) === 0) skipped[name] = 'no current data';
    else features[name] = histogramDistances(cur, refCounts);
  }

  const measures = Object.values(features);
  const hellingerMean = mean(measures.map((m) => m.hellinger));
  const kldMean = mean(measures.map((m) => m.kld));
  const tvdMean = mean(measures.map((m) => m.tvd));
  const generalDrift = (hellingerMean + tvdMean) / 2;
  const status = generalDrift >= detected ? 2 : generalDrift >= potential ? 1 : 0;
  return { features, hellingerMean, kldMean, tvdMean, generalDrift, status, skipped };
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : sum(xs) / xs.length;
}
