import type { Clock } from '../common/clock.ts';
import { isoMicros } from '../common/clock.ts';
import type { InferenceEvent } from '../common/types.ts';

/** What an event says about the model endpoint it belongs to. */
export interface EndpointInfo {
  endpointId: string;
  project: string;
  function: string;
  model: string;
  version?: string;
  tag?: string;
  modelUri?: string;
  featureNames?: string[];
  labelNames?: string[];
  labels?: Record<string, string>;
}

/** When a request started, on two clocks: a monotonic one for latency and the platform clock for `when`. */
export interface RequestStart {
  /** process.hrtime.bigint() at the start. */
  ns: bigint;
  /** The platform clock at the start (epoch ms, may carry a fraction). */
  ms: number;
}

/** Marks the start of a request. */
export function startRequest(clock: Clock): RequestStart {
  return { ns: process.hrtime.bigint(), ms: clock.now() };
}

/**
 * Microseconds since `start`, from the monotonic clock. A bigint difference, so it never
 * wraps at one second (the peer took the microsecond field of a timedelta and did).
 */
export function elapsedUs(start: RequestStart): number {
  return Number((process.hrtime.bigint() - start.ns) / 1000n);
}

/** ISO-8601 with microseconds for an epoch-ms time; a fractional ms becomes the microsecond digits. */
export function whenIso(ms: number): string {
  const whole = Math.floor(ms);
  return isoMicros(whole, Math.floor((ms - whole) * 1000));
}

/** Builds an inference event (or an error event when `error` is set), leaving out empty fields. */
export function buildInferenceEvent(
  endpoint: EndpointInfo,
  args: {
    start: RequestStart;
    latencyUs: number;
    requestId: string;
    inputs: unknown[][];
    outputs?: unknown[];
    featureNames?: string[];
    metrics?: Record<string, number>;
    error?: string;
  },
): InferenceEvent {
  const featureNames = args.featureNames ?? endpoint.featureNames;
  return {
    v: 1,
    endpointId: endpoint.endpointId,
    project: endpoint.project,
    function: endpoint.function,
    model: endpoint.model,
    ...(endpoint.version !== undefined ? { version: endpoint.version } : {}),
    ...(endpoint.tag !== undefined ? { tag: endpoint.tag } : {}),
    ...(endpoint.modelUri !== undefined ? { modelUri: endpoint.modelUri } : {}),
    when: whenIso(args.start.ms),
    latencyUs: args.latencyUs,
    request: { id: args.requestId, inputs: args.inputs },
    ...(args.outputs !== undefined ? { response: { outputs: args.outputs } } : {}),
    ...(featureNames && featureNames.length > 0 ? { featureNames } : {}),
    ...(endpoint.labelNames && endpoint.labelNames.length > 0 ? { labelNames: endpoint.labelNames } : {}),
    ...(endpoint.labels && Object.keys(endpoint.labels).length > 0 ? { labels: endpoint.labels } : {}),
    ...(args.metrics && Object.keys(args.metrics).length > 0 ? { metrics: args.metrics } : {}),
    ...(args.error !== undefined ? { error: args.error } : {}),
  };
}
