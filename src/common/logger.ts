import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The platform logger. Level from `MODELWATCH_LOG_LEVEL` (default `info`; `silent` in tests).
 * Connection URLs are redacted before they reach a log line: see {@link redactUrl}.
 */
export function createLogger(name = 'modelwatch', level?: string): Logger {
  return pino({
    name,
    level: level ?? process.env.MODELWATCH_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info'),
  });
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
