import { toJson } from '../codec.ts';
import type { ErrorRow, IngestBatch, PredictionRow, WindowHistogram } from '../tsdb-port.ts';

/*
 * An ingest batch on its way to the SQLite writer thread (ingest-writer.ts). Posting the batch as it
 * is would have the structured clone copy ten thousand row objects on each side; its predictions
 * travel instead as columns: their numbers in one Float64Array, their texts (request id, features
 * and outputs JSON, labels JSON) joined into one string with each one's length, their project and
 * endpoint ids once each. Only what the INSERT stores travels: the parsed features and outputs do
 * not (the thread stores their JSON text).
 */

/** Numbers per prediction in {@link PackedIngestBatch.nums}: project index, endpoint index, time, latency (µs, rounded), row index. */
const NUMS = 5;
/** Texts per prediction: request id, features JSON, outputs JSON, labels JSON (length -1: null). */
const TEXTS = 4;

/** An {@link IngestBatch} as posted to the writer thread. */
export interface PackedIngestBatch {
  rows: number;
  projects: string[];
  endpoints: string[];
  nums: Float64Array;
  text: string;
  lens: Int32Array;
  errors: ErrorRow[];
  histograms: WindowHistogram[];
  checkpoint?: IngestBatch['checkpoint'];
}

/** The batch as columns (see above). Labels are stored as JSON (null when absent), as the INSERT does. */
export function packIngestBatch(batch: IngestBatch): PackedIngestBatch {
  const n = batch.predictions.length;
  const projects: string[] = [];
  const endpoints: string[] = [];
  const projectIndex = new Map<string, number>();
  const endpointIndex = new Map<string, number>();
  const nums = new Float64Array(n * NUMS);
  const lens = new Int32Array(n * TEXTS);
  const parts: string[] = [];
  let lastEndpoint = '';
  let e = -1;
  for (let i = 0; i < n; i++) {
    const p = batch.predictions[i]!;
    let j = projectIndex.get(p.project);
    if (j === undefined) {
      j = projects.push(p.project) - 1;
      projectIndex.set(p.project, j);
    }
    if (p.endpointId !== lastEndpoint || e < 0) {
      const known = endpointIndex.get(p.endpointId);
      e = known ?? endpoints.push(p.endpointId) - 1;
      if (known === undefined) endpointIndex.set(p.endpointId, e);
      lastEndpoint = p.endpointId;
    }
    const o = i * NUMS;
    nums[o] = j;
    nums[o + 1] = e;
    nums[o + 2] = p.time;
    nums[o + 3] = Math.round(p.latencyUs);
    nums[o + 4] = p.rowIndex;
    const features = p.featuresJson ?? toJson(p.features);
    const outputs = p.outputsJson ?? toJson(p.outputs);
    const labels = p.labels === undefined || p.labels === null ? null : toJson(p.labels);
    const t = i * TEXTS;
    lens[t] = p.requestId.length;
    lens[t + 1] = features.length;
    lens[t + 2] = outputs.length;
    lens[t + 3] = labels === null ? -1 : labels.length;
    parts.push(p.requestId, features, outputs);
    if (labels !== null) parts.push(labels);
  }
  return { rows: n, projects, endpoints, nums, text: parts.join(''), lens, errors: batch.errors, histograms: batch.histograms, checkpoint: batch.checkpoint };
}

/**
 * The batch again, its predictions with `featuresJson` and `outputsJson` (the parsed `features` and
 * `outputs` are left empty: the INSERT takes the JSON texts).
 * @throws when the columns do not add up (a message that is not a packed batch)
 */
export function unpackIngestBatch(m: PackedIngestBatch): IngestBatch {
  if (m.nums.length !== m.rows * NUMS || m.lens.length !== m.rows * TEXTS) throw new Error(`a packed ingest batch of ${m.rows} rows has columns of the wrong length`);
  const predictions = new Array<PredictionRow>(m.rows);
  const { nums, lens, text } = m;
  let pos = 0;
  const next = (len: number): string => {
    const s = text.slice(pos, pos + len);
    pos += len;
    return s;
  };
  for (let i = 0; i < m.rows; i++) {
    const o = i * NUMS;
    const t = i * TEXTS;
    const requestId = next(lens[t]!);
    const featuresJson = next(lens[t + 1]!);
    const outputsJson = next(lens[t + 2]!);
    const labelsLen = lens[t + 3]!;
    predictions[i] = {
      project: m.projects[nums[o]!]!,
      endpointId: m.endpoints[nums[o + 1]!]!,
      time: nums[o + 2]!,
      latencyUs: nums[o + 3]!,
      requestId,
      rowIndex: nums[o + 4]!,
      features: [],
      outputs: [],
      featuresJson,
      outputsJson,
      labels: labelsLen < 0 ? null : (JSON.parse(next(labelsLen)) as Record<string, string>),
    };
  }
  if (pos !== text.length) throw new Error(`a packed ingest batch of ${m.rows} rows holds ${text.length - pos} characters too many`);
  return { predictions, errors: m.errors, histograms: m.histograms, checkpoint: m.checkpoint };
}
