/**
 * The numbers of the built-in `histogram-data-drift` app (SPEC section 4), as a pure
 * function so that the app, backfill and the offline report share one implementation.
 */
import { ValidationError } from '../common/errors.ts';
import type { FeatureStats, FeatureStatsMap } from '../common/types.ts';
import { histogramDistances, type HistogramDistances } from '../stats/histogram-distance.ts';
import { countsUnder, type WindowBinning } from '../stats/histogram.ts';

/** Drift thresholds on general_drift; the peer hard-coded 0.5 and 0.7. */
export interface DriftThresholds {
  /** general_drift ≥ this → potential detection (status 1). Default 0.5. */
  potentialThreshold?: number;
  /** general_drift ≥ this → detected (status 2). Default 0.7. */
  detectedThreshold?: number;
}

/** Options of {@link histogramDrift}. */
export interface HistogramDriftOptions extends DriftThresholds {
  /** How the window's numeric values are binned (see `WindowBinning`). @default 'reference' */
  binning?: WindowBinning;
}

/** Why a reference feature was left out of the means. */
export type SkipReason =
  /** The window's stats do not have the feature. */
  | 'not in the window'
  /** Every value of the feature in the window was missing. */
  | 'no values in the window'
  /** Every value of the feature in the training set was missing: nothing to compare with. */
  | 'no values in the reference'
  /** The window has values but no counts on the reference edges (the reference changed after they were counted). */
  | 'no window counts on the reference edges'
  /** The window has values but no counts of the reference's categories. */
  | 'no category counts in the window'
  /** A categorical feature under `binning: 'mlrun'`: the peer compares numeric features only. */
  | 'categorical: not compared under binning mlrun';

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
  /** Reference features left out, and why. */
  skipped: Record<string, SkipReason>;
}

/** Default potential-detection threshold (the peer's). */
export const DEFAULT_POTENTIAL_THRESHOLD = 0.5;
/** Default detected threshold (the peer's). */
export const DEFAULT_DETECTED_THRESHOLD = 0.7;

/**
 * Checks thresholds and returns them with their defaults.
 * @throws ValidationError unless 0 ≤ potential ≤ detected ≤ 1.
 */
export function resolveThresholds(opts: DriftThresholds): { potential: number; detected: number } {
  const potential = opts.potentialThreshold ?? DEFAULT_POTENTIAL_THRESHOLD;
  const detected = opts.detectedThreshold ?? DEFAULT_DETECTED_THRESHOLD;
  // `!(...)` so that NaN and values that are not numbers are rejected too.
  if (!(typeof potential === 'number' && typeof detected === 'number' && potential >= 0 && potential <= detected && detected <= 1)) {
    throw new ValidationError('drift thresholds must satisfy 0 <= potentialThreshold <= detectedThreshold <= 1', {
      potentialThreshold: potential,
      detectedThreshold: detected,
    });
  }
  return { potential, detected };
}

/**
 * Per-feature TVD, Hellinger and KLD between a window's stats and the reference stats, their
 * means, general_drift and its status. Every reference feature is either compared or listed in
 * `skipped` with the reason, in the reference's key order:
 * - numeric (reference `hist`): the window's counts on the reference edges, under `binning`
 *   (`reference`: as counted; `mlrun`: the values at the reference maximum moved to the upper
 *   padding bin, which needs the window's `hist.atMax`);
 * - categorical (reference `categories`): frequencies over the reference's categories plus one
 *   "other" bucket, the reference's "other" being 0 (zero-scaled in KL as any empty bin); left out
 *   under `binning: 'mlrun'`, as the peer compares numeric features only, so that its numbers
 *   come out exactly.
 * With no feature compared, all means and general_drift are 0 and status 0; callers can tell
 * that case by `Object.keys(features).length === 0`.
 *
 * @throws ValidationError for thresholds outside 0 ≤ potential ≤ detected ≤ 1, window counts
 *   whose length differs from the reference histogram's, or `mlrun` binning of window counts
 *   without `hist.atMax`.
 */
export function histogramDrift(
  reference: Readonly<FeatureStatsMap>,
  current: Readonly<FeatureStatsMap>,
  opts: HistogramDriftOptions = {},
): HistogramDriftResult {
  const { potential, detected } = resolveThresholds(opts);
  const binning = opts.binning ?? 'reference';
  const features: Record<string, HistogramDistances> = {};
  const skipped: HistogramDriftResult['skipped'] = {};
  for (const [name, ref] of Object.entries(reference)) {
    const cur = Object.hasOwn(current, name) ? current[name] : undefined;
    const bins = ref.hist || ref.categories ? binsOf(name, ref, cur, binning) : 'no values in the reference';
    if (typeof bins === 'string') skipped[name] = bins;
    else features[name] = histogramDistances(bins.current, bins.reference);
  }

  const measures = Object.values(features);
  const hellingerMean = mean(measures.map((m) => m.hellinger));
  const kldMean = mean(measures.map((m) => m.kld));
  const tvdMean = mean(measures.map((m) => m.tvd));
  const generalDrift = (hellingerMean + tvdMean) / 2;
  const status = generalDrift >= detected ? 2 : generalDrift >= potential ? 1 : 0;
  return { features, hellingerMean, kldMean, tvdMean, generalDrift, status, skipped };
}

/** The window's and the reference's counts of one feature on common bins, or why there are none. */
function binsOf(name: string, ref: FeatureStats, cur: FeatureStats | undefined, binning: WindowBinning): { current: number[]; reference: number[] } | SkipReason {
  if (ref.categories && binning === 'mlrun') return 'categorical: not compared under binning mlrun';
  const reference = ref.hist ? ref.hist.counts : [...Object.values(ref.categories ?? {}), 0];
  if (sum(reference) === 0) return 'no values in the reference';
  if (!cur) return 'not in the window';
  if (cur.count === 0) return 'no values in the window';
  if (ref.hist) {
    if (!cur.hist) return 'no window counts on the reference edges';
    if (cur.hist.counts.length !== reference.length) {
      throw new ValidationError(`feature '${name}': ${cur.hist.counts.length} window counts do not match the ${reference.length} reference bins`);
    }
    if (binning === 'mlrun' && cur.hist.atMax === undefined) {
      throw new ValidationError(`feature '${name}': the window counts do not say how many values equal the reference maximum (hist.atMax), which binning 'mlrun' needs`);
    }
    return { current: countsUnder(binning, cur.hist.counts, cur.hist.atMax ?? 0), reference };
  }
  if (!cur.categories) return 'no category counts in the window';
  const refCategories = ref.categories ?? {};
  const counts = Object.keys(refCategories).map((k) => (Object.hasOwn(cur.categories ?? {}, k) ? (cur.categories?.[k] ?? 0) : 0));
  // A window category the reference does not have (a window counted on an older reference) is "other".
  let other = cur.other ?? 0;
  for (const [k, n] of Object.entries(cur.categories)) if (!Object.hasOwn(refCategories, k)) other += n;
  return { current: [...counts, other], reference };
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : sum(xs) / xs.length;
}
