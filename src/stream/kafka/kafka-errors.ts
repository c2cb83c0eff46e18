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
