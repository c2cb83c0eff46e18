import { createLogger, type Logger } from '../common/logger.ts';

/**
 * The CLI's logger (stderr, so that `--json` output on stdout stays parseable). Level from
 * `MODELWATCH_LOG_LEVEL`, else `fallback`: `info` for `up` and `worker`, `warn` for the rest.
 */
export function cliLogger(fallback: string): Logger {
  return createLogger('modelwatch', process.env.MODELWATCH_LOG_LEVEL ?? fallback);
}
