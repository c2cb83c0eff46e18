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

/** Hides the password (and any token query parameter) of a connection URL. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|token|secret|key/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
