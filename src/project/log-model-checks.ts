import { ValidationError } from '../common/errors.ts';
import type { LogModelOptions } from './project.ts';

/**
 * The checks of a `logModel` call made before its training set is read: both modes make them
 * first (connected mode reads the set on the caller's side), so both fail alike.
 */
export function checkLogModelCall(key: string, opts: LogModelOptions): void {
  if (typeof key !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(key)) throw new ValidationError(`model key '${String(key)}' may hold letters, digits, '.', '_' and '-'`);
  if (!opts?.trainingSet) throw new ValidationError('logModel needs trainingSet (rows, columns, CSV, JSON lines or Parquet)');
}
