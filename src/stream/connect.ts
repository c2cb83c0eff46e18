import path from 'node:path';
import type { Clock } from '../common/clock.ts';
import { BackendNotAvailableError } from '../common/errors.ts';
import { parseConnectionUrl } from '../store/connection-url.ts';
import type { SqliteStreamOptions } from './embedded/sqlite-stream.ts';
import type { KafkaStreamOptions } from './kafka/kafka-stream.ts';
import type { NatsStreamOptions } from './nats/nats-stream.ts';
import type { Stream } from './port.ts';
import { defaultStreamRetention, type StreamRetention } from './retention.ts';

/** Options of {@link openStream}. */
export interface OpenStreamOptions extends Omit<SqliteStreamOptions, 'file' | 'url' | 'clock' | 'retention'> {
  /** Home folder: the embedded log defaults to `<home>/stream.db` and relative paths resolve here. */
  home: string;
  clock?: Clock;
  /** Extra settings of a `nats://` stream (timings, logger); the URL and owner id come from above. */
  nats?: Omit<NatsStreamOptions, 'url' | 'ownerId'>;
  /** Extra settings of a `kafka://` stream; the URL and owner id come from above. */
  kafka?: Omit<KafkaStreamOptions, 'url' | 'ownerId'>;
  /**
   * Background retention of the embedded log and NATS (Kafka has the broker's). null: none.
   * @default acknowledged events older than `MODELWATCH_STREAM_RETENTION_HOURS` (24) go, checked hourly
   */
  retention?: StreamRetention | null;
}

/**
 * Opens the stream named by `url`:
 * - empty, `embedded://` (the default file), `embedded:///path`, `sqlite:///path` or a plain path → the embedded SQLite log;
 * - `nats://host:4222[,host:port][?partitions=N&namespace=NAME&replicas=R]` → NATS JetStream;
 * - `kafka://host:9092[,host:port][?partitions=N&replication=R&clientId=ID&ssl=true]` → Kafka.
 * Drivers load only when their scheme is used. Each call opens its own handle (close it).
 * @throws ValidationError for a malformed URL, StreamUnavailableError when the server cannot be reached.
 */
export async function openStream(url: string, opts: OpenStreamOptions): Promise<Stream> {
  const parsed = parseConnectionUrl(url ?? '', 'stream');
  const { home, clock, nats, kafka, retention: given, ...rest } = opts;
  const retention = given === null ? undefined : (given ?? defaultStreamRetention());
  // The scale-out streams are decided here, whatever `parsed.available` says (the URL table is shared with the stores).
  if (parsed.scheme === 'nats') {
    const { NatsStream } = await import('./nats/nats-stream.ts');
    return NatsStream.connect({ ...nats, url: url.trim(), ...(rest.ownerId !== undefined ? { ownerId: rest.ownerId } : {}), ...(retention ? { retention } : {}) });
  }
  if (parsed.scheme === 'kafka') {
    const { KafkaStream } = await import('./kafka/kafka-stream.ts');
    return KafkaStream.connect({ ...kafka, url: url.trim(), ...(rest.ownerId !== undefined ? { ownerId: rest.ownerId } : {}) });
  }
  if (!parsed.available || (parsed.scheme !== 'embedded' && parsed.scheme !== 'sqlite')) {
    throw new BackendNotAvailableError(parsed.scheme, 'stream');
  }
  const file = parsed.path === undefined ? path.join(home, 'stream.db') : parsed.path === ':memory:' ? ':memory:' : path.resolve(home, parsed.path);
  const { SqliteStream } = await import('./embedded/sqlite-stream.ts');
  return new SqliteStream({ ...rest, file, url: url === '' ? 'embedded://' : url, ...(clock ? { clock } : {}), ...(retention ? { retention } : {}) });
}
