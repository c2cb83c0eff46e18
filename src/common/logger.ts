import { pino, type Logger } from 'pino';
import { ValidationError } from './errors.ts';

export type { Logger };

/** The levels a logger takes, quietest last. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The platform logger: JSON lines on stderr, so that a program's own output on stdout stays its
 * own (SDK scripts, `--json` commands). Level: `level`, else `MODELWATCH_LOG_LEVEL`, else `silent`
 * under the test runner, else `warn`. Connection URLs are redacted before they reach a log line:
 * see {@link redactUrl}.
 */
export function createLogger(name = 'modelwatch', level?: string): Logger {
  const chosen = level ?? process.env.MODELWATCH_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'warn');
  if (!(LOG_LEVELS as readonly string[]).includes(chosen)) {
    throw new ValidationError(`log level '${chosen}' is not one of ${LOG_LEVELS.join(', ')}${level === undefined ? ' (from MODELWATCH_LOG_LEVEL)' : ''}`);
  }
  return pino({ name, level: chosen }, pino.destination({ fd: 2, sync: true }));
}

/**
 * Hides the secrets of a connection URL so that it can go into messages, read APIs and logs: the
 * password of `scheme://user:password@host`, the whole user part of `nats://token@host` (a NATS
 * token), and query parameters whose name speaks of a password, token, secret or key. Works on
 * multi-host URLs (`nats://a:4222,b:4222`), which `new URL` cannot parse.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/@:\s?#]*):[^/@\s?#]*@/, '$1:***@')
    .replace(/^(nats:\/\/)[^/@:\s?#]+@/i, '$1***@')
    .replace(/([?&][^=&#]*(?:pass|token|secret|key)[^=&#]*=)[^&#]*/gi, '$1***');
}
