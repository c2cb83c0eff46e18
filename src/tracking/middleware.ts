import { systemClock, type Clock } from '../common/clock.ts';
import { errorMessage } from '../common/errors.ts';
import { endpointId, requestUuid } from '../common/ids.ts';
import { elapsedUs, EventEncoder, startRequest, type EndpointInfo } from './event.ts';
import { trackRequest, type TrackerSink } from './tracker.ts';

/** The model endpoint a wrapped predict function reports as, plus where to send events. */
export interface TrackedPredictOptions extends Omit<EndpointInfo, 'endpointId'> {
  tracker: TrackerSink;
  /** @default endpointId({ project, function, tag, model, version }) — the same id our serving uses */
  endpointId?: string;
  /** Source of each event's `when`. @default systemClock */
  clock?: Clock;
}

/** Per-call extras for a tracked predict. */
export interface TrackedCall {
  /** The caller's request id. @default a random UUID */
  requestId?: string;
  /** Custom metrics carried on the event. */
  metrics?: Record<string, number>;
}

/** A predict function over rows of feature values. */
export type PredictFn<O> = (rows: unknown[][]) => O[] | Promise<O[]>;

/**
 * Wraps any predict function so that every call becomes an inference event (SPEC section 6:
 * tracking for any Node service, not only our serving). Works in a Fastify, Express or Hono
 * handler alike: `const predict = trackedPredict(model.predict.bind(model), { tracker, project,
 * function: 'api', model: 'churn' })`, then `res.json(await predict(rows, { requestId }))`.
 * A throwing predict is tracked as an error event and the error is rethrown unchanged;
 * tracking itself never throws or waits.
 */
export function trackedPredict<O>(predict: PredictFn<O>, opts: TrackedPredictOptions): (rows: unknown[][], call?: TrackedCall) => Promise<O[]> {
  const { tracker, clock = systemClock, endpointId: id, ...info } = opts;
  const endpoint: EndpointInfo = {
    ...info,
    endpointId: id ?? endpointId({ project: info.project, function: info.function, tag: info.tag, model: info.model, version: info.version }),
  };
  const encoder = new EventEncoder(endpoint);
  return async (rows, call = {}) => {
    const start = startRequest(clock);
    const requestId = call.requestId ?? requestUuid();
    let outputs: O[];
    try {
      outputs = await predict(rows);
    } catch (err) {
      trackRequest(tracker, encoder, { start, latencyUs: elapsedUs(start), requestId, inputs: rows, error: errorMessage(err) });
      throw err;
    }
    trackRequest(tracker, encoder, { start, latencyUs: elapsedUs(start), requestId, inputs: rows, outputs, metrics: call.metrics });
    return outputs;
  };
}
