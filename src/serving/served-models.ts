import { ValidationError, errorMessage } from '../common/errors.ts';
import { endpointId } from '../common/ids.ts';
import { checkFunctionName, checkProjectName } from '../common/names.ts';
import { EventEncoder, type EndpointInfo } from '../tracking/event.ts';
import { resolveInputSchema, type FeatureType, type InputSchema } from './input-schema.ts';
import { ensureLoaded, isModelClass, type ModelClass } from './model.ts';
import { V2_DATATYPES, isV2Datatype } from './v2-datatype.ts';

/** A model served by a serving function. Each (name, version) is one model endpoint. */
export interface ServedModel {
  name: string;
  version?: string;
  model: ModelClass;
  modelUri?: string;
  featureNames?: string[];
  labelNames?: string[];
  /**
   * What each feature takes, in feature order, when the model declares no `inputDatatype`: the
   * serving worker reads them off the logged model's training set (see `typesFromFeatureStats`).
   */
  inputTypes?: readonly FeatureType[];
  /** @default 'latest' (in the endpoint id) */
  tag?: string;
  labels?: Record<string, string>;
}

/** Per-endpoint serving counters. */
export interface ModelCounters {
  requests: number;
  predictions: number;
  errors: number;
  /** Sum of the latencies of successful requests, for averages. */
  latencyUsTotal: number;
}

/** A served model with its endpoint identity, load state and counters. */
export interface ModelEntry {
  served: ServedModel;
  endpoint: EndpointInfo;
  /** Writes this endpoint's inference events as JSON text. */
  encoder: EventEncoder;
  state: 'loading' | 'ready' | 'failed';
  loadError?: string;
  counters: ModelCounters;
  /** What its requests' values must fit. */
  inputs: InputSchema;
}

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkNames(names: unknown, what: string, model: string): string[] | undefined {
  if (names === undefined) return undefined;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && n !== '')) {
    throw new ValidationError(`${what} of model '${model}' must be a list of non-empty strings`);
  }
  if (new Set(names).size !== names.length) throw new ValidationError(`${what} of model '${model}' has duplicates`);
  return names;
}

/**
 * The models of one serving function: validates them, computes endpoint ids, loads each once
 * and finds the one a request names. Without a version, a request gets the model registered
 * without a version, or else the first one registered under that name.
 */
export class ModelRegistry {
  readonly entries: ModelEntry[];
  /** Settles once every model has loaded or failed to. */
  readonly loaded: Promise<void>;

  constructor(project: string, functionName: string, models: ServedModel[]) {
    checkProjectName(project);
    checkFunctionName(functionName);
    if (!Array.isArray(models) || models.length === 0) throw new ValidationError('a serving function needs at least one model');
    const seen = new Set<string>();
    this.entries = models.map((m) => {
      if (typeof m?.name !== 'string' || !SEGMENT_RE.test(m.name)) {
        throw new ValidationError(`model name '${String(m?.name)}' is not valid: use letters, digits, '.', '_' and '-'`);
      }
      if (m.version !== undefined && (typeof m.version !== 'string' || !SEGMENT_RE.test(m.version))) {
        throw new ValidationError(`version '${String(m.version)}' of model '${m.name}' is not valid: use letters, digits, '.', '_' and '-'`);
      }
      if (!isModelClass(m.model)) throw new ValidationError(`model '${m.name}' has no predict(rows) method`);
      const declared = m.model.outputDatatype;
      if (declared !== undefined && !isV2Datatype(declared)) {
        throw new ValidationError(`model '${m.name}' declares outputDatatype ${JSON.stringify(declared)}, which is not a V2 datatype (${V2_DATATYPES.join(', ')})`);
      }
      const key = `${m.name}\u0000${m.version ?? ''}`;
      if (seen.has(key)) throw new ValidationError(`model '${m.name}'${m.version ? ` version '${m.version}'` : ''} is added twice`);
      seen.add(key);
      const featureNames = checkNames(m.featureNames, 'featureNames', m.name);
      const labelNames = checkNames(m.labelNames, 'labelNames', m.name);
      if (m.inputTypes !== undefined && featureNames && m.inputTypes.length !== featureNames.length) {
        throw new ValidationError(`model '${m.name}' has ${m.inputTypes.length} input types for ${featureNames.length} features`);
      }
      const inputs = resolveInputSchema(m.model, { name: m.name, ...(featureNames ? { featureNames } : {}), ...(m.inputTypes ? { trainingTypes: m.inputTypes } : {}) });
      const endpoint: EndpointInfo = {
        endpointId: endpointId({ project, function: functionName, tag: m.tag, model: m.name, version: m.version }),
        project,
        function: functionName,
        model: m.name,
        ...(m.version !== undefined ? { version: m.version } : {}),
        ...(m.tag !== undefined ? { tag: m.tag } : {}),
        ...(m.modelUri !== undefined ? { modelUri: m.modelUri } : {}),
        ...(featureNames ? { featureNames } : {}),
        ...(labelNames ? { labelNames } : {}),
        ...(m.labels ? { labels: m.labels } : {}),
      };
      return { served: m, endpoint, encoder: new EventEncoder(endpoint), state: 'loading' as const, counters: { requests: 0, predictions: 0, errors: 0, latencyUsTotal: 0 }, inputs };
    });
    this.loaded = Promise.all(
      this.entries.map((e) =>
        ensureLoaded(e.served.model, e.served.name).then(
          () => {
            e.state = 'ready';
          },
          (err: unknown) => {
            e.state = 'failed';
            e.loadError = errorMessage(err);
          },
        ),
      ),
    ).then(() => undefined);
  }

  /** The entry a request names, or undefined. */
  find(name: string, version?: string): ModelEntry | undefined {
    const named = this.entries.filter((e) => e.served.name === name);
    if (version !== undefined) return named.find((e) => e.served.version === version);
    return named.find((e) => e.served.version === undefined) ?? named[0];
  }

  /** Versions registered under a name. */
  versions(name: string): string[] {
    return this.entries.filter((e) => e.served.name === name && e.served.version !== undefined).map((e) => e.served.version!);
  }

  allReady(): boolean {
    return this.entries.every((e) => e.state === 'ready');
  }
}
