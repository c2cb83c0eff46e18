/**
 * The `ingest` benchmark's workload, shared by the benchmark and its producer process: the
 * inference events a serving function tracks (one row of 10 features and one output per request,
 * round-robin over 20 endpoints), seeded so that every process builds the same ones, and the
 * prediction rows they become.
 */
import { endpointId } from '../../src/common/ids.ts';
import type { FeatureStatsMap } from '../../src/common/types.ts';
import type { PredictionRow } from '../../src/store/tsdb-port.ts';
import { EventEncoder, whenIso, type EndpointInfo, type EventArgs } from '../../src/tracking/event.ts';
import { trackRequest, type Tracker } from '../../src/tracking/tracker.ts';
import { seededRandom } from '../../src/tracking/seeded-random.ts';

export const PROJECT = 'ingestbench';
export const SERVING_FUNCTION = 'serving';
export const ENDPOINTS = 20;
export const FEATURES = 10;
const BINS = 22;
const SEED = 20240611;

export const FEATURE_NAMES: readonly string[] = Array.from({ length: FEATURES }, (_, j) => `f${j}`);
export const LABEL_NAMES: readonly string[] = ['score'];


/** Reference stats of each endpoint's logged model: 22 equal bins over [0, 10 + j) for feature j. */
export function referenceStats(): FeatureStatsMap {
  const stats: FeatureStatsMap = {};
  FEATURE_NAMES.forEach((name, j) => {
    const hi = 10 + j;
    stats[name] = {
      count: 1000,
      missing: 0,
      hist: { counts: new Array<number>(BINS).fill(0), edges: Array.from({ length: BINS + 1 }, (_, b) => (hi * b) / BINS) },
    };
  });
  return stats;
}

/** `store://models/...` URI of endpoint k's model. */
export function modelUri(k: number): string {
  return `store://models/${PROJECT}/model${k}:latest`;
}

/**
 * `n` requests' values in flat typed arrays (a few bytes per event, so that the benchmark's own
 * memory does not weigh on the garbage collector), turned into events and rows on demand.
 */
export class IngestWorkload {
  readonly n: number;
  private readonly t0: number;
  private readonly values: Float64Array;
  private readonly outputs: Float64Array;
  private readonly latencies: Uint16Array;
  private readonly endpoints: EndpointInfo[];
  private readonly encoders: EventEncoder[];

  /** `t0`: the first request's time (epoch ms); requests follow 10 µs apart. */
  constructor(n: number, t0: number) {
    this.n = n;
    this.t0 = t0;
    const u = seededRandom(SEED);
    this.values = new Float64Array(n * FEATURES);
    this.outputs = new Float64Array(n);
    this.latencies = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < FEATURES; j++) this.values[i * FEATURES + j] = Math.round(u() * (10 + j) * 1e4) / 1e4;
      this.outputs[i] = Math.round(u() * 1e4) / 1e4;
      this.latencies[i] = 200 + Math.floor(u() * 800);
    }
    this.endpoints = Array.from({ length: ENDPOINTS }, (_, k) => ({
      endpointId: endpointId({ project: PROJECT, function: SERVING_FUNCTION, model: `model${k}`, version: '1' }),
      project: PROJECT,
      function: SERVING_FUNCTION,
      model: `model${k}`,
      version: '1',
      modelUri: modelUri(k),
      featureNames: [...FEATURE_NAMES],
      labelNames: [...LABEL_NAMES],
    }));
    this.encoders = this.endpoints.map((e) => new EventEncoder(e));
  }

  private features(i: number): number[] {
    // A plain loop: Array.from over a typed-array view (the iterator protocol) cost the producer
    // 0.6–1.7 µs per event against 0.05–0.13, work a serving process does not do for tracking.
    const row = new Array<number>(FEATURES);
    for (let j = 0, o = i * FEATURES; j < FEATURES; j++) row[j] = this.values[o + j]!;
    return row;
  }

  private args(i: number): EventArgs {
    return { start: { ns: 0n, ms: this.t0 + i * 0.01 }, latencyUs: this.latencies[i]!, requestId: `req-${i}`, inputs: [this.features(i)], outputs: [this.outputs[i]] };
  }

  /** Tracks request i as serving does: encoded straight to JSON text. */
  track(tracker: Tracker, i: number): void {
    trackRequest(tracker, this.encoders[i % ENDPOINTS]!, this.args(i));
  }

  /** The prediction row request i becomes. */
  prediction(i: number): PredictionRow {
    return {
      project: PROJECT,
      endpointId: this.endpoints[i % ENDPOINTS]!.endpointId,
      time: Date.parse(whenIso(this.t0 + i * 0.01)),
      latencyUs: this.latencies[i]!,
      requestId: `req-${i}`,
      rowIndex: 0,
      features: this.features(i),
      outputs: [this.outputs[i]],
      labels: null,
    };
  }
}

/**
 * Tracks every event of the workload as a serving process would, yielding to the event loop
 * between slices, then flushes. Returns early when `stop()` says so.
 *
 * At most `queued` events (default 2,000: four of the tracker's default batches) wait in the
 * tracker at a time: a serving process under steady load holds about a batch or two, published
 * as it fills. Filling the queue up to its bound (`maxQueue`, 10,000), as a stalled stream does
 * (the `memory` benchmark's case), kept every event alive through several young-generation
 * collections and cost the producer 1–2 µs per event more in garbage collection.
 */
export async function trackAll(tracker: Tracker, w: IngestWorkload, opts: { queued?: number; stop?: () => boolean } = {}): Promise<void> {
  const bound = opts.queued ?? 2000;
  let i = 0;
  while (i < w.n) {
    if (opts.stop?.()) return;
    const room = Math.min(bound - tracker.stats().queued, w.n - i, 2000);
    for (let k = 0; k < room; k++) w.track(tracker, i++);
    // With the bound reached, wait for the stream (the embedded log's writer thread) rather than
    // spin through the event loop: spinning took a core's worth of CPU from the stream processor.
    if (room > 0) await new Promise<void>((r) => setImmediate(r));
    else await new Promise<void>((r) => setTimeout(r, 1));
  }
  await tracker.flush();
}
