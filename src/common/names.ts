import { ValidationError } from './errors.ts';

const PROJECT_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const FUNCTION_RE = /^[a-z0-9]([a-z0-9-_]{0,61}[a-z0-9])?$/;
const RESULT_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const RESERVED_FUNCTION_NAMES = [
  'model-monitoring-stream',
  'model-monitoring-controller',
  'model-monitoring-writer',
  'histogram-data-drift',
] as const;

export const STREAM_FUNCTION = 'model-monitoring-stream';
export const CONTROLLER_FUNCTION = 'model-monitoring-controller';
export const WRITER_FUNCTION = 'model-monitoring-writer';
export const HISTOGRAM_DRIFT_APP = 'histogram-data-drift';
/** The built-in Evidently-compatible report app (registered under any name the user picks). */
export const DATA_DRIFT_REPORT_APP = 'data-drift-report';

export function checkProjectName(name: string): string {
  if (typeof name !== 'string' || !PROJECT_RE.test(name)) {
    throw new ValidationError(
      `project name '${String(name)}' is not valid: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function checkFunctionName(name: string): string {
  if (typeof name !== 'string' || !FUNCTION_RE.test(name)) {
    throw new ValidationError(
      `function name '${String(name)}' is not valid: use 1-63 lowercase letters, digits, '-' and '_', starting and ending with a letter or digit`,
    );
  }
  return name;
}

/** Result and metric names match `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidResultName(name: unknown): name is string {
  return typeof name === 'string' && RESULT_RE.test(name);
}
