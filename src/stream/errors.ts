import { ModelwatchError } from '../common/errors.ts';

/** Another consumer holds the (topic, group) lease and did not let go within the subscribe timeout. */
export class StreamGroupBusyError extends ModelwatchError {
  constructor(topic: string, group: string, holder: string | undefined, waitedMs: number) {
    super(
      'stream_group_busy',
      `consumer group '${group}' of topic '${topic}' is held by another consumer${holder ? ` ('${holder}')` : ''}; ` +
        `gave up after ${waitedMs} ms — one consumer per group reads the embedded stream, stop the other one or wait for its lease to expire`,
      { httpStatus: 409, retryable: true, details: { topic, group, holder } },
    );
  }
}

/**
 * This consumer's lease on its group ran out and another consumer took the group over (the
 * process stalled past the lease time). Messages handed out but not acknowledged will be
 * delivered to the new holder; subscribe again to continue.
 */
export class StreamLeaseLostError extends ModelwatchError {
  constructor(topic: string, group: string) {
    super('stream_lease_lost', `consumer group '${group}' of topic '${topic}' was taken over by another consumer; subscribe again`, {
      httpStatus: 409,
      retryable: true,
      details: { topic, group },
    });
  }
}

/**
 * Some partitions of the acknowledged messages moved to another member of the group before the
 * acknowledgement (rebalance or a lease that lapsed). Their messages were not committed here and
 * will be delivered to the new owner; messages of the partitions still owned were committed.
 */
export class StreamPartitionLostError extends ModelwatchError {
  constructor(topic: string, group: string, partitions: number[]) {
    super(
      'stream_partition_lost',
      `consumer group '${group}' of topic '${topic}' no longer owns partition(s) ${partitions.join(', ')}; ` +
        'their un-acknowledged messages go to the new owner',
      { httpStatus: 409, retryable: true, details: { topic, group, partitions } },
    );
  }
}

/** The stream or subscription was closed. */
export class StreamClosedError extends ModelwatchError {
  constructor(what: string) {
    super('stream_closed', `${what} is closed`, { httpStatus: 503 });
  }
}

/** The stream server could not be reached or did not answer in time; the call may be retried. */
export class StreamUnavailableError extends ModelwatchError {
  constructor(backend: string, message: string, cause?: unknown) {
    super('stream_unavailable', `${backend}: ${message}`, { httpStatus: 503, retryable: true, cause, details: { backend } });
  }
}

/** The stream server refused or failed a call (the driver's message says why). */
export class StreamBackendError extends ModelwatchError {
  constructor(backend: string, message: string, opts: { cause?: unknown; retryable?: boolean } = {}) {
    super('stream_backend_error', `${backend}: ${message}`, {
      httpStatus: 502,
      retryable: opts.retryable ?? false,
      cause: opts.cause,
      details: { backend },
    });
  }
}
