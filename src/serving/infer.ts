import { EventTooLargeError, ModelError, ValidationError, errorMessage } from '../common/errors.ts';
import { requestUuid } from '../common/ids.ts';
import { LIMITS, type InputLimits } from '../common/limits.ts';
import { elapsedUs, type EventArgs, type RequestStart } from '../tracking/event.ts';
import { trackRequest, type TrackerSink } from '../tracking/tracker.ts';
import type { ModelEntry } from './served-models.ts';
import { buildV2Response, parseInferenceRequest, type V2InferenceResponse } from './v2-body.ts';

/** What a failed request tells `onRequestError`. */
export interface RequestErrorInfo {
  endpointId: string;
  model: string;
  error: string;
  status: number;
}

/** Where an inference reports to. */
export interface InferSinks {
  tracker?: TrackerSink;
  /** Durable tracking: a prediction is answered only once its event is in the stream (the tracker has `trackRequestDurable`). */
  durable?: boolean;
  onRequestError?(info: RequestErrorInfo): void;
}

/** The outcome of one inference request: a status and a JSON body. */
export interface InferOutcome {
  status: number;
  body: V2InferenceResponse | { error: string; message: string };
}

/**
 * Runs one V2 inference request against a model: parse, predict, track. Never throws: bad
 * bodies (400), a model not ready (503) and model exceptions (500) come back as outcomes,
 * after being counted on the endpoint and tracked as error events.
 */
export async function runInference(entry: ModelEntry, body: unknown, start: RequestStart, sinks: InferSinks, limits: InputLimits = LIMITS): Promise<InferOutcome> {
  entry.counters.requests += 1;
  const bodyId = typeof (body as { id?: unknown } | null)?.id === 'string' ? (body as { id: string }).id : undefined;
  if (entry.state !== 'ready') {
    const why = entry.state === 'failed' ? `failed to load: ${entry.loadError ?? 'unknown error'}` : 'is still loading';
    return endpointError(entry, sinks, start, bodyId, [], 503, 'model_not_ready', `model '${entry.served.name}' ${why}`);
  }

  let parsed;
  try {
    parsed = parseInferenceRequest(body, { featureNames: entry.served.featureNames, schema: entry.inputs, modelName: entry.served.name, limits });
  } catch (err) {
    const message = err instanceof ValidationError ? err.message : `bad request body: ${errorMessage(err)}`;
    return endpointError(entry, sinks, start, bodyId, [], 400, 'validation_error', message);
  }
  const requestId = parsed.id ?? requestUuid();

  let outputs: unknown[];
  try {
    const result: unknown = await entry.served.model.predict(parsed.rows);
    if (!Array.isArray(result)) throw new Error(`predict returned ${typeof result}, not an array of outputs`);
    if (result.length !== parsed.rows.length) throw new Error(`predict returned ${result.length} outputs for ${parsed.rows.length} rows`);
    outputs = result;
  } catch (err) {
    const message = new ModelError(entry.served.name, err).message;
    return endpointError(entry, sinks, start, requestId, parsed.rows, 500, 'model_error', message);
  }

  let response: V2InferenceResponse;
  try {
    const datatype = entry.served.model.outputDatatype;
    response = buildV2Response({ modelName: entry.served.name, modelVersion: entry.served.version, id: requestId, outputs, ...(datatype ? { datatype } : {}) });
  } catch (err) {
    // Outputs that break the model's own declaration are the model's failure.
    return endpointError(entry, sinks, start, requestId, parsed.rows, 500, 'model_error', new ModelError(entry.served.name, err).message);
  }

  const latencyUs = elapsedUs(start);
  const args: EventArgs = { start, latencyUs, requestId, inputs: parsed.rows, outputs, featureNames: parsed.featureNames };
  if (sinks.durable && sinks.tracker?.trackRequestDurable) {
    try {
      await sinks.tracker.trackRequestDurable(entry.encoder, args);
    } catch (err) {
      // Not stored, so not answered (the error is tracked, not durably): the client may send it
      // again, unless it can never be stored (rows too large for an event of their own).
      if (err instanceof EventTooLargeError) return endpointError(entry, sinks, start, requestId, parsed.rows, err.httpStatus, err.code, err.message);
      return endpointError(entry, sinks, start, requestId, parsed.rows, 503, 'tracking_unavailable', errorMessage(err));
    }
  } else track(sinks, entry, args);
  entry.counters.predictions += parsed.rows.length;
  entry.counters.latencyUsTotal += latencyUs;
  return { status: 200, body: response };
}

/**
 * Counts a failed request on its endpoint: tells `onRequestError` and tracks an error event.
 * Also used for requests fastify rejects before our handler (body too large, broken JSON).
 */
export function endpointError(
  entry: ModelEntry,
  sinks: InferSinks,
  start: RequestStart,
  requestId: string | undefined,
  inputs: unknown[][],
  status: number,
  code: string,
  message: string,
): InferOutcome {
  entry.counters.errors += 1;
  const latencyUs = elapsedUs(start);
  try {
    sinks.onRequestError?.({ endpointId: entry.endpoint.endpointId, model: entry.served.name, error: message, status });
  } catch {
    // A broken callback must not turn a 400 into a 500.
  }
  track(sinks, entry, { start, latencyUs, requestId: requestId ?? requestUuid(), inputs, error: message });
  return { status, body: { error: code, message } };
}

function track(sinks: InferSinks, entry: ModelEntry, args: EventArgs): void {
  if (sinks.tracker) trackRequest(sinks.tracker, entry.encoder, args);
}
