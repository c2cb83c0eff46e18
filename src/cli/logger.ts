import { pino } from 'pino';
import type { Logger } from '../common/logger.ts';

/**
 * The CLI's logger writes to stderr, so that `--json` output on stdout stays parseable.
 * Level from `MODELWATCH_LOG_LEVEL`, else `fallback`.
 */
export function cliLogger(fallback: string): Logger {
  return pino({ name: 'modelwatch', level: process.env.MODELWATCH_LOG_LEVEL ?? fallback }, pino.destination({ fd: 2, sync: true }));
}
