import type { EndpointRecord, FeatureStatsMap } from '../common/types.ts';

/** Options of `listModelEndpoints`. */
export interface ListEndpointsOptions {
  /**
   * Keep each feature's distribution (`hist` counts and edges, `categories`) in `featureStats` and
   * `currentStats`. A list leaves them out (they are most of a record's size); `getModelEndpoint`
   * always has them. @default false
   */
  full?: boolean;
}

/** An endpoint as a list shows it: every field, the feature stats without their distributions. */
export function endpointSummary(e: EndpointRecord): EndpointRecord {
  return { ...e, featureStats: withoutDistributions(e.featureStats), currentStats: withoutDistributions(e.currentStats) };
}

function withoutDistributions(stats: FeatureStatsMap): FeatureStatsMap {
  const out: FeatureStatsMap = {};
  for (const [name, s] of Object.entries(stats ?? {})) {
    const { hist: _hist, categories: _categories, ...rest } = s;
    out[name] = rest;
  }
  return out;
}
