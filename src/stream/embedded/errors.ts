import { ModelwatchError } from '../../common/errors.ts';

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

/** The stream or subscription was closed. */
export class StreamClosedError extends ModelwatchError {
  constructor(what: string) {
    super('stream_closed', `${what} is closed`, { httpStatus: 503 });
  }
}
