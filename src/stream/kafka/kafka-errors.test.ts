import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { isMessageTooLarge } from './kafka-errors.ts';

/*
 * kafkajs's own error classes, as its producer throws them: the broker's MESSAGE_TOO_LARGE (code 10)
 * is not retriable, so the producer's retrier rejects with it as it is or wrapped in a
 * KafkaJSNonRetriableError. No broker runs here (test/backends/stream-kafka.test.ts has one when
 * MODELWATCH_TEST_KAFKA is set).
 */
// kafkajs spreads its error classes into its exports, which an ES module cannot name one by one.
const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
/** What the producer's retrier rejects with for a non-retriable error `e` (its second argument is missing from kafkajs's types). */
const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, meta: { cause: Error }) => Error;
const Exceeded = KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, meta: { retryCount: number; retryTime: number; cause: Error }) => Error;
/** A protocol error as kafkajs makes it from a broker's error code. */
const protocol = (type: string, code: number, retriable: boolean) => new KafkaJSProtocolError(Object.assign(new Error(`${type} from the broker`), { type, code, retriable }));

describe('isMessageTooLarge', () => {
  it('knows the broker refusing a message or a batch as too large, as thrown or wrapped', () => {
    const tooLarge = protocol('MESSAGE_TOO_LARGE', 10, false);
    assert.equal(isMessageTooLarge(tooLarge), true);
    assert.equal(isMessageTooLarge(new NonRetriable(tooLarge, { cause: tooLarge })), true);
    assert.equal(isMessageTooLarge(protocol('RECORD_LIST_TOO_LARGE', 18, false)), true);
  });

  it('leaves every other error to be retried', () => {
    assert.equal(isMessageTooLarge(protocol('NOT_LEADER_FOR_PARTITION', 6, true)), false);
    assert.equal(isMessageTooLarge(new KafkaJSConnectionError('connection refused')), false);
    const leader = protocol('LEADER_NOT_AVAILABLE', 5, true);
    assert.equal(isMessageTooLarge(new Exceeded(leader, { retryCount: 5, retryTime: 1000, cause: leader })), false);
    assert.equal(isMessageTooLarge(new Error('MESSAGE_TOO_LARGE')), false);
    assert.equal(isMessageTooLarge(undefined), false);
  });
});
