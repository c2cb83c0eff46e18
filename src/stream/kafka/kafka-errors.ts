import { errorMessage, ModelwatchError } from '../../common/errors.ts';
import { StreamBackendError, StreamUnavailableError } from '../errors.ts';

/** The little the Kafka backend logs. */
export interface KafkaLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

const UNAVAILABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
]);

/** Wraps a kafkajs error in a typed modelwatch error (typed errors pass through). */
export function toKafkaError(err: unknown, what: string): Error {
  if (err instanceof ModelwatchError) return err;
  const name = err instanceof Error ? err.name : '';
  const retriable = (err as { retriable?: boolean }).retriable === true;
  if (UNAVAILABLE.has(name)) return new StreamUnavailableError('kafka', `${what}: ${errorMessage(err)}`, err);
  return new StreamBackendError('kafka', `${what}: ${errorMessage(err)}`, { cause: err, retryable: retriable });
}

/** Protocol errors of a produce request the broker will never take: one of its messages (10), or the request's batch (18), is too large. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * Whether a kafkajs error says the broker refused a produce request as too large (a
 * KafkaJSProtocolError of type MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE, as thrown or as the
 * cause of the KafkaJSNonRetriableError the producer's retrier wraps it in): sending it again as
 * it is cannot succeed.
 */
export function isMessageTooLarge(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    if (TOO_LARGE.has(String((e as { type?: unknown }).type))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
