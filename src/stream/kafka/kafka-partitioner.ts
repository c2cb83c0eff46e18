import type { ICustomPartitioner } from 'kafkajs';
import { ValidationError } from '../../common/errors.ts';
import { fnv1a32, partitionFor } from '../partition.ts';

/**
 * A kafkajs partitioner that places a message as every modelwatch backend does: FNV-1a of the key
 * modulo the topic's partition count ({@link partitionFor}), so one endpoint's events land in the
 * same partition number on Kafka, NATS and the embedded log. An explicit `partition` wins.
 */
export const modelwatchPartitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) => {
  if (typeof message.partition === 'number') return message.partition;
  const key = message.key === undefined || message.key === null ? '' : message.key.toString();
  return partitionFor(key, Math.max(1, partitionMetadata.length));
};

/**
 * The Kafka topic (or group id) for a modelwatch name: `<namespace>.<name>` when namespaced;
 * characters Kafka does not allow become '_' and a hash of the original is appended.
 */
export function kafkaName(name: string, namespace: string | undefined): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError('a stream topic or group must be a non-empty string');
  const full = namespace ? `${namespace}.${name}` : name;
  if (/^[A-Za-z0-9._-]{1,200}$/.test(full) && full !== '.' && full !== '..') return full;
  return `${full.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}_${fnv1a32(full).toString(16).padStart(8, '0')}`;
}
