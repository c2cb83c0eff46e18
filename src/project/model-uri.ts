import type { ModelRecord, Store } from '../store/port.ts';

/** The parts of a logged model's URI. */
export interface ModelUriParts {
  project: string;
  key: string;
  /** `latest` when the URI names none. */
  tag: string;
}

/** Parses `store://models/{project}/{key}[:{tag}]`; undefined for anything else. */
export function parseModelUri(uri: string): ModelUriParts | undefined {
  const m = /^store:\/\/models\/([^/]+)\/([^:]+)(?::(.+))?$/.exec(uri);
  if (!m) return undefined;
  return { project: m[1] as string, key: m[2] as string, tag: m[3] ?? 'latest' };
}

/** The model a URI names, or undefined when the URI is not a model URI or the model is not in the store. */
export async function findModel(store: Store, uri: string): Promise<ModelRecord | undefined> {
  const parts = parseModelUri(uri);
  return parts && store.getModel(parts.project, parts.key, parts.tag);
}
