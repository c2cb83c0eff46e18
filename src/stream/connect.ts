import path from 'node:path';
import type { Clock } from '../common/clock.ts';
import { BackendNotAvailableError } from '../common/errors.ts';
import { parseConnectionUrl } from '../store/connection-url.ts';
import type { SqliteStreamOptions } from './embedded/sqlite-stream.ts';
import type { Stream } from './port.ts';

/** Options of {@link openStream}. */
export interface OpenStreamOptions extends Omit<SqliteStreamOptions, 'file' | 'url' | 'clock'> {
  /** Home folder: the embedded log defaults to `<home>/stream.db` and relative paths resolve here. */
  home: string;
  clock?: Clock;
}

/**
 * Opens the stream named by `url`: empty, `embedded://` (the default file), `embedded:///path`,
 * `sqlite:///path` or a plain path → the embedded SQLite log; `nats://`, `kafka://` → not built yet.
 * Each call opens its own handle (close it); the log file itself is shared safely between processes.
 * @throws ValidationError for a malformed URL, BackendNotAvailableError for nats/kafka.
 */
export async function openStream(url: string, opts: OpenStreamOptions): Promise<Stream> {
  const parsed = parseConnectionUrl(url ?? '', 'stream');
  if (!parsed.available || (parsed.scheme !== 'embedded' && parsed.scheme !== 'sqlite')) {
    throw new BackendNotAvailableError(parsed.scheme, 'stream');
  }
  const { home, clock, ...rest } = opts;
  const file = parsed.path === undefined ? path.join(home, 'stream.db') : parsed.path === ':memory:' ? ':memory:' : path.resolve(home, parsed.path);
  const { SqliteStream } = await import('./embedded/sqlite-stream.ts');
  return new SqliteStream({ ...rest, file, url: url === '' ? 'embedded://' : url, ...(clock ? { clock } : {}) });
}
