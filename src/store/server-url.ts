import { ValidationError } from '../common/errors.ts';
import { redactSecrets } from '../common/redact.ts';

/** Connections per pool when the URL does not say (`?pool=N`). */
export const DEFAULT_POOL_SIZE = 10;

/** A server engine's URL taken apart, with modelwatch's own query options removed. */
export interface ServerUrl {
  /** The URL without modelwatch's options, for the driver. */
  url: URL;
  /** `?pool=N`: connections in the process's pool for this URL. @default 10 */
  poolSize: number;
  host: string;
  port: number | undefined;
  user: string | undefined;
  password: string | undefined;
  database: string | undefined;
}

/**
 * Parses `postgres://user:pass@host:port/db?pool=10&...` or `mysql://...`. Options modelwatch
 * reads (`pool`) are taken out; the rest stay for the driver.
 * @throws ValidationError for a malformed URL or pool size; the message never shows the password.
 */
export function parseServerUrl(text: string): ServerUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new ValidationError(`'${redactSecrets(text)}' is not a valid connection URL (${(cause as Error).message})`);
  }
  const poolText = url.searchParams.get('pool');
  url.searchParams.delete('pool');
  const poolSize = poolText === null ? DEFAULT_POOL_SIZE : Number(poolText);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new ValidationError(`'${redactSecrets(text)}': pool must be a whole number from 1 to 1000, not '${poolText}'`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    url,
    poolSize,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? undefined : Number(url.port),
    user: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    database: database === '' ? undefined : database,
  };
}
