import { ValidationError } from '../common/errors.ts';
import { checkPathSegment } from '../common/safe-path.ts';
import type { LogModelOptions } from './project.ts';

/**
 * The checks of a `logModel` call made before its training set is read: both modes make them
 * first (connected mode reads the set on the caller's side), so both fail alike.
 */
export function checkLogModelCall(key: string, opts: LogModelOptions): void {
  // Key and tag name the model's artifact folder.
  checkPathSegment('model key', key);
  if (opts?.tag !== undefined) checkPathSegment('model tag', opts.tag);
  if (!opts?.trainingSet) throw new ValidationError('logModel needs trainingSet (rows, columns, CSV, JSON lines or Parquet)');
}
