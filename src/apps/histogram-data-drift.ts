import { minSamplesOption, tooFewRows } from './min-samples.ts';
import { ValidationError } from '../common/errors.ts';
import { ResultKind, ResultStatus, statusName, type FeatureStatsMap } from '../common/types.ts';
import { WINDOW_BINNINGS, type WindowBinning } from '../stats/histogram.ts';
import { MonitoringApplication } from './base.ts';
import type { MonitoringApplicationContext } from './context.ts';
import { histogramDrift, resolveThresholds } from './histogram-drift-core.ts';
import type { ApplicationOutput } from './results.ts';
import { RUN_LIMIT_OPTIONS, runLimits } from './run-limits.ts';

/** Options of the built-in app; thresholds are configurable (the peer hard-coded them). */
export interface HistogramDataDriftOptions {
  /** general_drift at or above this is `potential_detection` (default 0.5). */
  potentialThreshold?: number;
  /** general_drift at or above this is `detected` (default 0.7). */
  detectedThreshold?: number;
  /**
   * How window values are binned on the reference edges: `reference` (default) as the reference
   * histogram bins them (a value equal to the reference maximum in the last real bin), `mlrun` as
   * the peer does (that value in the upper padding bin; categorical features left out), which
   * reproduces the peer's numbers exactly.
   */
  binning?: WindowBinning;
  /** A window with fewer rows gives `general_drift` with status `irrelevant` (default 50). */
  minSamples?: number;
}

const OPTION_NAMES: readonly string[] = ['potentialThreshold', 'detectedThreshold', 'binning', 'minSamples'];

/**
 * Checks the options of the built-in app (as given to `enableModelMonitoring({
 * histogramDataDriftOptions })`, `setModelMonitoringFunction({ options })` or the CLI's
 * `--histogram-option`) and returns them with their defaults.
 *
 * @throws ValidationError for an option the app does not know, a bad run limit, thresholds outside
 *   0 ≤ potential ≤ detected ≤ 1, a binning other than `reference` or `mlrun`, or a minSamples
 *   that is not a whole number ≥ 0.
 */
export function resolveHistogramDataDriftOptions(options: unknown): Required<HistogramDataDriftOptions> {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError(`histogram-data-drift options must be an object, got ${JSON.stringify(options)}`);
  }
  const o = options as Record<string, unknown>;
  // The run limits every app takes (run-limits.ts) belong to the platform: checked, then left alone.
  runLimits(o);
  const unknown = Object.keys(o).filter((k) => !OPTION_NAMES.includes(k) && !RUN_LIMIT_OPTIONS.includes(k));
  if (unknown.length > 0) {
    throw new ValidationError(`histogram-data-drift has no option ${unknown.map((k) => `'${k}'`).join(', ')}; its options are ${OPTION_NAMES.join(', ')}`);
  }
  const { potential, detected } = resolveThresholds(o as HistogramDataDriftOptions);
  const binning = o.binning ?? 'reference';
  if (typeof binning !== 'string' || !(WINDOW_BINNINGS as readonly string[]).includes(binning)) {
    throw new ValidationError(`histogram-data-drift option binning must be ${WINDOW_BINNINGS.map((b) => `'${b}'`).join(' or ')}, got ${JSON.stringify(binning)}`);
  }
  const minSamples = minSamplesOption('histogram-data-drift', o.minSamples);
  return { potentialThreshold: potential, detectedThreshold: detected, binning: binning as WindowBinning, minSamples };
}

/**
 * Rows of the window the stats were counted from: every row gives each feature a value or a
 * missing one, so the most any feature saw.
 */
export function windowRows(stats: Readonly<FeatureStatsMap>): number {
  let rows = 0;
  for (const s of Object.values(stats)) rows = Math.max(rows, s.count + s.missing);
  return rows;
}

/**
 * The built-in `histogram-data-drift` app: TVD, Hellinger and symmetric KL divergence between
 * each feature's window counts and its reference counts (numeric features: 22 bins on the
 * reference edges; categorical ones: the reference's categories plus "other"), averaged over
 * features; `general_drift` = mean(hellinger_mean, tvd_mean). A window with fewer rows than
 * `minSamples`, or where no feature could be compared, gives `general_drift` with status
 * `irrelevant`, which leaves the endpoint's drift status as it was.
 */
export class HistogramDataDriftApplication extends MonitoringApplication {
  /** Works from the window histograms (`sampleStats`): the rows are not read. */
  override readonly usesSample = false;

  /** @throws ValidationError for bad options (see {@link resolveHistogramDataDriftOptions}). */
  constructor(options: Record<string, unknown> = {}) {
    super(options);
    resolveHistogramDataDriftOptions(options);
  }

  doTracking(ctx: MonitoringApplicationContext): ApplicationOutput {
    const opts = resolveHistogramDataDriftOptions({ ...ctx.options, ...this.options });
    const thresholds = { potential: opts.potentialThreshold, detected: opts.detectedThreshold };
    const settings = { binning: opts.binning, minSamples: opts.minSamples, thresholds };
    const rows = windowRows(ctx.sampleStats);
    const irrelevant = (message: string, extra: Record<string, unknown> = {}): ApplicationOutput => [
      {
        name: 'general_drift',
        value: 0,
        kind: ResultKind.data_drift,
        status: ResultStatus.irrelevant,
        extraData: { driftStatus: statusName(ResultStatus.irrelevant), message, rows, ...settings, ...extra, currentStats: ctx.sampleStats },
      },
    ];
    const tooFew = tooFewRows(rows, opts.minSamples);
    if (tooFew) {
      return irrelevant(tooFew);
    }
    const drift = histogramDrift(ctx.featureStats, ctx.sampleStats, opts);
    if (Object.keys(drift.features).length === 0) {
      return irrelevant('no feature could be compared with the reference (see skipped)', { skipped: drift.skipped });
    }
    return [
      { name: 'hellinger_mean', value: drift.hellingerMean },
      { name: 'kld_mean', value: drift.kldMean },
      { name: 'tvd_mean', value: drift.tvdMean },
      {
        name: 'general_drift',
        value: drift.generalDrift,
        kind: ResultKind.data_drift,
        status: drift.status === 2 ? ResultStatus.detected : drift.status === 1 ? ResultStatus.potential_detection : ResultStatus.no_detection,
        extraData: {
          driftStatus: statusName(drift.status),
          features: drift.features,
          skipped: drift.skipped,
          rows,
          ...settings,
          currentStats: ctx.sampleStats,
        },
      },
    ];
  }
}
