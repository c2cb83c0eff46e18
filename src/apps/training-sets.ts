import path from 'node:path';
import { toColumns } from '../data/tabular.ts';
import { findModel } from '../project/model-uri.ts';
import type { Platform } from '../project/platform.ts';
import type { ReferenceData } from './context.ts';

interface Entry {
  /** The model version the table was read for: a model logged again under the same URI is read again. */
  version: string;
  table: Promise<ReferenceData>;
}

/**
 * The training sets kept with logged models (`logModel`), read once per model URI: the
 * reference rows `ctx.reference()` gives apps. One per application runner, so that the windows
 * of every endpoint serving the same model share one read.
 */
export class TrainingSets {
  private readonly byUri = new Map<string, Entry>();

  constructor(private readonly platform: Platform) {}

  /**
   * The training set of the model `modelUri` names; undefined when the URI is empty, names no
   * logged model, or the model was logged before training sets were kept. The model record is
   * looked up on every call (one row), the file read only when the model was logged again.
   *
   * @throws ValidationError when the kept file cannot be read (the next call tries again).
   */
  async get(modelUri: string): Promise<ReferenceData | undefined> {
    return (await this.lookup(modelUri))?.table;
  }

  /**
   * As {@link get}, with the version of the table (it changes when the model is logged again), so
   * that a copy held elsewhere (an app's thread) is sent again only when it is out of date.
   */
  async lookup(modelUri: string): Promise<{ version: string; table: Promise<ReferenceData> } | undefined> {
    if (!modelUri) return undefined;
    const model = await findModel(this.platform.store, modelUri);
    if (!model?.trainingSet) {
      this.byUri.delete(modelUri);
      return undefined;
    }
    const version = `${model.createdAt}:${model.trainingSet}`;
    const cached = this.byUri.get(modelUri);
    if (cached?.version === version) return cached;
    const file = path.join(this.platform.options.artifactPath, model.trainingSet);
    const table = toColumns({ path: file }, { format: 'parquet' }).then((t) => ({ ...t, modelUri }));
    const entry: Entry = { version, table };
    // A failed read is tried again on the next window rather than kept.
    table.catch(() => {
      if (this.byUri.get(modelUri) === entry) this.byUri.delete(modelUri);
    });
    this.byUri.set(modelUri, entry);
    return entry;
  }
}
