import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it as nodeIt } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { EventTooLargeError } from '../../src/common/errors.ts';
import { openStream } from '../../src/stream/connect.ts';
import { KafkaStream, type KafkaStreamOptions } from '../../src/stream/kafka/kafka-stream.ts';
import { partitionFor } from '../../src/stream/partition.ts';
import { fetchN, runStreamContract } from '../contract/stream.case.ts';

/**
 * Kafka backend: the shared stream contract against a real broker, only when
 * MODELWATCH_TEST_KAFKA=host:port names one (there is none on the development machines). Every
 * test uses its own namespace (topic and group prefix) and deletes its topics. A broker started
 * with group.initial.rebalance.delay.ms=0 makes the group tests much faster.
 */
const BROKER = process.env.MODELWATCH_TEST_KAFKA;
const skip = BROKER ? undefined : 'no Kafka broker: set MODELWATCH_TEST_KAFKA=host:port to run the Kafka stream contract';
const FAST = {
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 300,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
} satisfies Partial<KafkaStreamOptions>;

const namespaces: string[] = [];
after(async () => {
  if (!BROKER || namespaces.length === 0) return;
  const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => namespaces.some((ns) => t.startsWith(`${ns}.`)));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await admin.disconnect();
});

function harness(extra: Partial<KafkaStreamOptions> = {}) {
  const ns = `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  namespaces.push(ns);
  const open: KafkaStream[] = [];
  return {
    open: async (o: { owner?: string } = {}) => {
      const s = await KafkaStream.connect({ url: `kafka://${BROKER}?partitions=3`, namespace: ns, ...FAST, ...extra, ...(o.owner ? { ownerId: o.owner } : {}) });
      open.push(s);
      return s;
    },
    cleanup: async () => {
      for (const s of open) await s.close();
    },
  };
}

runStreamContract('kafka', async () => harness(), {
  ...(skip ? { skip } : {}),
  unsupported: { truncate: "Kafka removes old messages itself, by the topic's retention.ms (7 days unless the broker sets another)" },
});

const it = (title: string, fn: () => Promise<void>): void => {
  nodeIt(title, skip ? { skip } : {}, fn);
};

describe('KafkaStream', () => {
  it('places keys with the shared partitioner and numbers offsets per partition', async () => {
    const h = harness();
    try {
      const s = await h.open();
      await s.publish('mw.demo.events', Array.from({ length: 300 }, (_, i) => ({ key: `endpoint-${i % 7}`, value: String(i) })));
      const sub = await s.subscribe('mw.demo.events', 'g');
      const got = await fetchN(sub, 300, 10_000);
      assert.equal(got.length, 300);
      assert.ok(got.every((m) => m.partition === partitionFor(m.key, 3)));
      for (let p = 0; p < 3; p++) {
        const offsets = got.filter((m) => m.partition === p).map((m) => Number(m.offset));
        assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
      }
    } finally {
      await h.cleanup();
    }
  });

  it('refuses a message larger than the topic takes, publishing the other messages of the call, and says which (EventTooLargeError)', async () => {
    const ns = `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    namespaces.push(ns);
    // The topic made first, taking messages of 256 KiB at most.
    const admin = new Kafka({ brokers: [BROKER!], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `${ns}.t`, numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: '262144' }] }], waitForLeaders: true });
    await admin.disconnect();
    const s = await KafkaStream.connect({ url: `kafka://${BROKER}?partitions=3`, namespace: ns, ...FAST });
    try {
      const huge = 'h'.repeat(300_000);
      const messages = [
        { key: 'k1', value: 'first' },
        { key: 'k1', value: huge },
        { key: 'k2', value: 'second' },
        { key: 'k1', value: 'last' },
      ];
      await assert.rejects(s.publish('t', messages), (err: unknown) => err instanceof EventTooLargeError && JSON.stringify(err.indexes) === '[1]');
      const sub = await s.subscribe('t', 'g');
      const got = await fetchN(sub, 3, 10_000);
      assert.deepEqual(got.map((m) => m.value).sort(), ['first', 'last', 'second']);
    } finally {
      await s.close();
    }
  });

  it('is opened by openStream from a kafka:// URL', async () => {
    const ns = `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    namespaces.push(ns);
    const s = await openStream(`kafka://${BROKER}?partitions=2&namespace=${ns}`, { home: '/nonexistent' });
    assert.ok(s instanceof KafkaStream);
    assert.equal(await s.partitionsOf('t'), 2);
    await s.close();
  });
});
