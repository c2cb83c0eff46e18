/**
 * The drift methods a report column can use, with Evidently's default thresholds and
 * comparison directions, and the default method rule of SPEC section 4.
 */
import { ValidationError } from '../common/errors.ts';
import type { ColumnType } from '../stats/column-type.ts';

/** Every drift method name. */
export const DRIFT_METHODS = [
  'ks',
  'chisquare',
  'z',
  'wasserstein',
  'jensenshannon',
  'psi',
  'kl',
  'hellinger',
  'tvd',
  'anderson',
  'cramer_von_mises',
  'energy',
  'mannwhitney',
  't_test',
] as const;

/** A drift method name. */
export type DriftMethod = (typeof DRIFT_METHODS)[number];

/** How a method's score is compared with its threshold to say "drifted". */
export type DriftComparison = 'lt' | 'le' | 'ge' | 'gt';

/** What a method is. */
export interface MethodInfo {
  /** `pvalue`: score is a p-value, small means drift; `distance`: large means drift. */
  kind: 'pvalue' | 'distance';
  /** Default threshold (Evidently's). */
  threshold: number;
  /** Drifted when `score <cmp> threshold`. */
  drifted: DriftComparison;
  /** The method needs raw numeric samples (not possible on categorical columns or bins). */
  numericOnly: boolean;
  /** Works on binned counts (categories, Sturges bins or histogram bins). */
  binned: boolean;
  /** Human name for the HTML page. */
  label: string;
}

/**
 * Method table. Thresholds and directions are Evidently's (`ks` p ≤ 0.05, `chisquare` and `z`
 * p < 0.05, distances ≥ 0.1, `energy` > 0.1, `anderson` p < 0.1, `cramer_von_mises` p ≤ 0.1,
 * `mannwhitney` and `t_test` p < 0.05). Differences by design: `tvd` is the distance itself
 * (Evidently turns it into a permutation p-value with a random seed), `t_test` is Welch's
 * (Evidently uses Student's pooled-variance test), `hellinger` is on the same bins as JS/PSI.
 */
export const METHODS: Readonly<Record<DriftMethod, MethodInfo>> = {
  ks: { kind: 'pvalue', threshold: 0.05, drifted: 'le', numericOnly: true, binned: false, label: 'Kolmogorov–Smirnov p-value' },
  chisquare: { kind: 'pvalue', threshold: 0.05, drifted: 'lt', numericOnly: false, binned: true, label: 'chi-square p-value' },
  z: { kind: 'pvalue', threshold: 0.05, drifted: 'lt', numericOnly: false, binned: true, label: 'Z-test p-value' },
  wasserstein: { kind: 'distance', threshold: 0.1, drifted: 'ge', numericOnly: true, binned: false, label: 'Wasserstein distance (normed)' },
  jensenshannon: { kind: 'distance', threshold: 0.1, drifted: 'ge', numericOnly: false, binned: true, label: 'Jensen–Shannon distance' },
  psi: { kind: 'distance', threshold: 0.1, drifted: 'ge', numericOnly: false, binned: true, label: 'PSI' },
  kl: { kind: 'distance', threshold: 0.1, drifted: 'ge', numericOnly: false, binned: true, label: 'Kullback–Leibler divergence' },
  hellinger: { kind: 'distance', threshold: 0.1, drifted: 'ge', numericOnly: false, binned: true, label: 'Hellinger distance' },
  tvd: { kind: 'distance', threshold: 0.1, drifted: 'ge', numericOnly: false, binned: true, label: 'total variation distance' },
  anderson: { kind: 'pvalue', threshold: 0.1, drifted: 'lt', numericOnly: true, binned: false, label: 'Anderson–Darling p-value' },
  cramer_von_mises: { kind: 'pvalue', threshold: 0.1, drifted: 'le', numericOnly: true, binned: false, label: 'Cramér–von Mises p-value' },
  energy: { kind: 'distance', threshold: 0.1, drifted: 'gt', numericOnly: true, binned: false, label: 'energy distance' },
  mannwhitney: { kind: 'pvalue', threshold: 0.05, drifted: 'lt', numericOnly: true, binned: false, label: 'Mann–Whitney U p-value' },
  t_test: { kind: 'pvalue', threshold: 0.05, drifted: 'lt', numericOnly: true, binned: false, label: 'Welch t-test p-value' },
};

const ALIASES: Readonly<Record<string, DriftMethod>> = {
  chi2: 'chisquare',
  chi_square: 'chisquare',
  'chi-square': 'chisquare',
  ztest: 'z',
  js: 'jensenshannon',
  jensen_shannon: 'jensenshannon',
  kl_div: 'kl',
  wasserstein_norm: 'wasserstein',
  ed: 'energy',
  mannw: 'mannwhitney',
  mann_whitney: 'mannwhitney',
  welch: 't_test',
  ttest: 't_test',
  cvm: 'cramer_von_mises',
  ad: 'anderson',
};

/**
 * A method name as users type it (also Evidently's names: `kl_div`, `mannw`, `ed`, ...).
 *
 * @throws ValidationError for an unknown name.
 */
export function parseMethod(name: string): DriftMethod {
  const key = name.trim().toLowerCase();
  if ((DRIFT_METHODS as readonly string[]).includes(key)) return key as DriftMethod;
  const alias = Object.hasOwn(ALIASES, key) ? ALIASES[key] : undefined;
  if (alias) return alias;
  throw new ValidationError(`unknown drift method '${name}': use one of ${DRIFT_METHODS.join(', ')}`);
}

/** True when `score` means drift for the method at the threshold. */
export function isDrifted(method: DriftMethod, score: number, threshold: number): boolean {
  switch (METHODS[method].drifted) {
    case 'lt':
      return score < threshold;
    case 'le':
      return score <= threshold;
    case 'ge':
      return score >= threshold;
    default:
      return score > threshold;
  }
}

/** Reference sizes up to this use p-value tests by default (Evidently's rule). */
export const SMALL_REFERENCE_ROWS = 1000;

/**
 * The default method of SPEC section 4 (Evidently's):
 * - reference ≤ 1000 values: numeric with > 5 distinct → `ks`; numeric 3–5 distinct or
 *   categorical > 2 → `chisquare`; ≤ 2 distinct → `z`;
 * - reference > 1000 values: numeric with > 5 distinct → `wasserstein`; else `jensenshannon`.
 *
 * @param referenceCount present (non-missing) reference values of the column.
 * @param distinct distinct values over reference ∪ current.
 */
export function defaultMethod(type: ColumnType, referenceCount: number, distinct: number): DriftMethod {
  if (referenceCount <= SMALL_REFERENCE_ROWS) {
    if (type === 'numeric' && distinct > 5) return 'ks';
    return distinct > 2 ? 'chisquare' : 'z';
  }
  return type === 'numeric' && distinct > 5 ? 'wasserstein' : 'jensenshannon';
}
