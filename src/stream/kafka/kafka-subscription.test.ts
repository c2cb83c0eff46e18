import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { StreamClosedError, StreamPartitionLostError } from '../errors.ts';
import type { KafkaRecord } from './kafka-fetch-buffer.ts';
import { KafkaSubscription } from './kafka-subscription.ts';

/**
 * KafkaSubscription against a stand-in for kafkajs's consumer, which plays the group protocol's
 * events (assignment, rebalance) and `eachBatch` deliveries. The real broker runs the same code in
 * test/backends/stream-kafka.test.ts when MODELWATCH_TEST_KAFKA is set.
 */
class FakeConsumer {
  readonly events = { REBALANCING: 'rebalancing', GROUP_JOIN: 'group_join', CRASH: 'crash' };
  readonly paused = new Set<number>();
  readonly commits: { topic: string; partition: number; offset: string }[] = [];
  readonly resolved = new Map<number, string>();
  commitError: Error | undefined;
  disconnected = false;
  private readonly listeners = new Map<string, ((e: unknown) => void)[]>();
  private eachBatch: ((p: unknown) => Promise<void>) | undefined;

  constructor(private readonly initial: number[]) {}

  on(ev: string, fn: (e: unknown) => void): void {
    this.listeners.set(ev, [...(this.listeners.get(ev) ?? []), fn]);
  }
  emit(ev: string, payload: unknown): void {
    for (const fn of this.listeners.get(ev) ?? []) fn({ payload });
  }
  join(partitions: number[]): void {
    this.emit('group_join', { memberAssignment: { kt: partitions } });
  }
  async connect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async run(cfg: { eachBatch: (p: unknown) => Promise<void> }): Promise<void> {
    this.eachBatch = cfg.eachBatch;
    setTimeout(() => this.join(this.initial), 20);
  }
  pause(ts: { partitions: number[] }[]): void {
    for (const t of ts) for (const p of t.partitions) this.paused.add(p);
  }
  resume(ts: { partitions: number[] }[]): void {
    for (const t of ts) for (const p of t.partitions) this.paused.delete(p);
  }
  async commitOffsets(list: { topic: string; partition: number; offset: string }[]): Promise<void> {
    if (this.commitError) throw this.commitError;
    this.commits.push(...list);
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
  async deliver(partition: number, messages: KafkaRecord[]): Promise<void> {
    await this.eachBatch?.({
      batch: { topic: 'kt', partition, messages, lastOffset: () => messages[messages.length - 1]?.offset ?? '-1' },
      resolveOffset: (o: string) => this.resolved.set(partition, o),
      heartbeat: async () => {},
      isRunning: () => true,
      isStale: () => false,
    });
  }
}

const recs = (from: number, n: number): KafkaRecord[] =>
  Array.from({ length: n }, (_, i) => ({ offset: String(from + i), key: Buffer.from('k'), value: Buffer.from(`v${from + i}`), timestamp: '1' }));

function setup(initial = [0, 1], highWaterEvents = 1000) {
  const consumer = new FakeConsumer(initial);
  const admin = {
    fetchTopicOffsets: async () => [
      { partition: 0, high: '10', low: '0', offset: '10' },
      { partition: 1, high: '5', low: '2', offset: '5' },
    ],
    fetchOffsets: async () => [{ topic: 'kt', partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '-1' }] }],
  };
  const sub = new KafkaSubscription({
    kafka: { consumer: () => consumer } as unknown as Kafka,
    admin: admin as unknown as Admin,
    kafkaTopic: 'kt',
    topic: 't',
    group: 'g',
    groupId: 'g.t',
    timings: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 6000, joinTimeoutMs: 2000, highWaterEvents, maxWaitTimeMs: 100, settleWaitMs: 300 },
    onClose: () => undefined,
  });
  return { consumer, sub };
}

describe('KafkaSubscription (kafkajs stand-in)', () => {
  it('waits for its assignment, hands out what eachBatch brought and commits offset + 1 on ack', async () => {
    const { consumer, sub } = setup();
    await sub.start('earliest');
    await consumer.deliver(0, recs(0, 3));
    assert.equal(consumer.resolved.get(0), '2', 'kafkajs fetches on past what was buffered');
    const got = await sub.fetch(10, 100);
    assert.deepEqual(got.map((m) => [m.partition, m.offset, m.value]), [
      [0, '0', 'v0'],
      [0, '1', 'v1'],
      [0, '2', 'v2'],
    ]);
    await sub.ack(got.slice(0, 2));
    assert.deepEqual(consumer.commits, [{ topic: 'kt', partition: 0, offset: '2' }]);
    assert.equal(await sub.lag(), 6 + 3, 'partition 0: 10 - 4; partition 1 never committed: 5 - 2');
    await sub.close();
    assert.ok(consumer.disconnected);
    await assert.rejects(sub.fetch(1), StreamClosedError);
  });

  it('wakes a waiting fetch when a batch arrives', async () => {
    const { consumer, sub } = setup();
    await sub.start('earliest');
    setTimeout(() => void consumer.deliver(1, recs(7, 1)), 50);
    const got = await sub.fetch(5, 2000);
    assert.deepEqual(got.map((m) => m.offset), ['7']);
    await sub.close();
  });

  it('hands nothing out during a rebalance and reports revoked partitions as lost on ack', async () => {
    const { consumer, sub } = setup();
    await sub.start('earliest');
    await consumer.deliver(0, recs(0, 2));
    await consumer.deliver(1, recs(0, 2));
    const got = await sub.fetch(10, 100);
    await consumer.deliver(1, recs(2, 2));
    consumer.emit('rebalancing', {});
    assert.deepEqual(await sub.fetch(10, 50), []);
    consumer.join([1]);
    await assert.rejects(sub.ack(got), (err: unknown) => err instanceof StreamPartitionLostError && (err.details?.partitions as number[])[0] === 0);
    assert.deepEqual(consumer.commits, [{ topic: 'kt', partition: 1, offset: '2' }], 'the kept partition was committed');
    await consumer.deliver(1, recs(0, 4));
    assert.deepEqual((await sub.fetch(10, 100)).map((m) => m.offset), ['2', '3'], 'records fetched again are not repeated');
    await sub.close();
  });

  it('treats a commit refused for a rebalance as lost partitions', async () => {
    const { consumer, sub } = setup();
    await sub.start('earliest');
    await consumer.deliver(0, recs(0, 2));
    const got = await sub.fetch(10, 100);
    consumer.commitError = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    await assert.rejects(sub.ack(got), StreamPartitionLostError);
    consumer.commitError = undefined;
    await sub.ack(got);
    assert.deepEqual(consumer.commits, [{ topic: 'kt', partition: 0, offset: '2' }]);
    await sub.close();
  });

  it('with no wait, still returns what the broker holds before the call, waiting for it to arrive', async () => {
    const { consumer, sub } = setup();
    await sub.start('earliest');
    await consumer.deliver(0, recs(4, 3));
    setTimeout(() => void consumer.deliver(0, recs(7, 3)), 40);
    setTimeout(() => void consumer.deliver(1, recs(2, 3)), 80);
    const got = await sub.fetch(100, 0);
    assert.deepEqual(got.map((m) => `${m.partition}:${m.offset}`), ['0:4', '0:5', '0:6', '0:7', '0:8', '0:9', '1:2', '1:3', '1:4']);
    const t0 = Date.now();
    assert.deepEqual(await sub.fetch(100, 0), []);
    assert.ok(Date.now() - t0 < 250, 'caught up: no waiting');
    await sub.close();
  });

  it('pauses a partition whose buffer is full and resumes it once drained', async () => {
    const { consumer, sub } = setup([0], 4);
    await sub.start('earliest');
    await consumer.deliver(0, recs(0, 5));
    assert.ok(consumer.paused.has(0));
    await sub.fetch(4, 0);
    assert.ok(!consumer.paused.has(0));
    await sub.close();
  });
});
