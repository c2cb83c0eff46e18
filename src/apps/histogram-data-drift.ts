import { ResultKind, ResultStatus, statusName } from '../common/types.ts';
import { MonitoringApplication } from './base.ts';
import type { MonitoringApplicationContext } from './context.ts';
import { histogramDrift } from './histogram-drift-core.ts';
import type { ApplicationOutput } from './results.ts';

/** Options of the built-in app; thresholds are configurable (the peer hard-coded them). */
export interface HistogramDataDriftOptions {
  /** general_drift at or above this is `potential_detection` (default 0.5). */
  potentialThreshold?: number;
  /** general_drift at or above this is `detected` (default 0.7). */
  detectedThreshold?: number;
}

/**
 * The built-in `histogram-data-drift` app: TVD, Hellinger and symmetric KL divergence between
 * each feature's window histogram and its reference histogram (22 bins on the reference
 * edges), averaged over features; `general_drift` = mean(hellinger_mean, tvd_mean).
 */
export class HistogramDataDriftApplication extends MonitoringApplication {
  /** Works from the window histograms (`sampleStats`): the rows are not read. */
  override readonly usesSample = false;

  doTracking(ctx: MonitoringApplicationContext): ApplicationOutput {
    const opts = { ...(ctx.options as HistogramDataDriftOptions), ...(this.options as HistogramDataDriftOptions) };
    const current: Record<string, number[]> = {};
    for (const [name, stats] of Object.entries(ctx.sampleStats)) {
      if (stats.hist && ctx.featureStats[name]?.hist) current[name] = stats.hist.counts;
    }
    const drift = histogramDrift(ctx.featureStats, current, opts);
    const featureNames = Object.keys(drift.features);
    if (featureNames.length === 0) {
      ctx.logger.warn('no feature has both a reference histogram and window data; nothing to compare', { endpoint: ctx.endpoint.id });
      return [];
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
          currentStats: ctx.sampleStats,
          thresholds: { potential: opts.potentialThreshold ?? 0.5, detected: opts.detectedThreshold ?? 0.7 },
        },
      },
    ];
  }
}
