import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../common/errors.ts';
import { partitionFor } from '../partition.ts';
import { KafkaFetchBuffer, type KafkaRecord } from './kafka-fetch-buffer.ts';
import { kafkaName, modelwatchPartitioner } from './kafka-partitioner.ts';
import { parseKafkaUrl } from './kafka-url.ts';

const records = (from: number, n: number, prefix = 'v'): KafkaRecord[] =>
  Array.from({ length: n }, (_, i) => ({ offset: String(from + i), key: Buffer.from('k'), value: Buffer.from(`${prefix}${from + i}`), timestamp: '1700000000000' }));

describe('KafkaFetchBuffer', () => {
  it('hands out in offset order per partition, round-robin, and plans commits of offset + 1', () => {
    const b = new KafkaFetchBuffer('t', 100);
    b.assign([0, 1]);
    b.push(0, records(10, 3));
    b.push(1, records(0, 2));
    const { messages } = b.take(10);
    assert.equal(messages.length, 5);
    assert.deepEqual(messages.filter((m) => m.partition === 0).map((m) => m.offset), ['10', '11', '12']);
    assert.equal(messages[0]?.timestamp, 1700000000000);
    const plan = b.planAck(messages.filter((m) => m.offset !== '12'));
    assert.deepEqual(plan.commits.sort((x, y) => x.partition - y.partition), [
      { partition: 0, offset: '12' },
      { partition: 1, offset: '2' },
    ]);
    b.committed(plan.commits);
    assert.deepEqual(b.planAck(messages.slice(0, 1)).commits, [], 'already committed');
    assert.throws(() => b.planAck([{ ...messages[0]!, offset: '99' }]), ValidationError);
    assert.throws(() => b.planAck([{ ...messages[0]!, topic: 'other' }]), ValidationError);
  });

  it('skips records fetched again after a rebalance and keeps the state of kept partitions', () => {
    const b = new KafkaFetchBuffer('t', 100);
    b.assign([0, 1]);
    b.push(0, records(0, 5));
    const first = b.take(3).messages;
    b.rebalancing();
    assert.deepEqual(b.take(10).messages, [], 'nothing is handed out during a rebalance');
    b.assign([0]);
    b.push(0, records(0, 8));
    const rest = b.take(10).messages;
    assert.deepEqual(rest.map((m) => m.offset), ['3', '4', '5', '6', '7']);
    assert.deepEqual(b.planAck(first).commits, [{ partition: 0, offset: '3' }]);
  });

  it('drops revoked partitions: their messages count as lost, even if the partition comes back', () => {
    const b = new KafkaFetchBuffer('t', 100);
    b.assign([0, 1]);
    b.push(1, records(0, 4));
    const handed = b.take(2).messages;
    b.rebalancing();
    b.assign([0]);
    assert.deepEqual(b.planAck(handed), { commits: [], lost: [1] });
    b.rebalancing();
    b.assign([0, 1]);
    b.push(1, records(2, 2));
    assert.deepEqual(b.planAck(handed).lost, [1], 'a message from an earlier ownership cannot be committed');
    assert.deepEqual(b.take(10).messages.map((m) => m.offset), ['2', '3']);
  });

  it('asks to pause a full partition and to resume it once half drained', () => {
    const b = new KafkaFetchBuffer('t', 10);
    b.assign([0]);
    assert.equal(b.push(0, records(0, 9)), false);
    assert.equal(b.push(0, records(9, 3)), true);
    assert.deepEqual(b.take(2).resume, []);
    assert.deepEqual(b.take(6).resume, [0]);
    assert.deepEqual(b.flow(), { pause: [], resume: [0] });
  });
});

describe('Kafka names, partitioner and URL', () => {
  it('partitions like every other backend', () => {
    const partition = modelwatchPartitioner();
    const meta = Array.from({ length: 8 }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (const key of ['a', 'endpoint-1', 'ü']) {
      assert.equal(partition({ topic: 't', partitionMetadata: meta, message: { key, value: 'v' } }), partitionFor(key, 8));
    }
    assert.equal(partition({ topic: 't', partitionMetadata: meta, message: { key: 'a', value: 'v', partition: 5 } }), 5);
  });

  it('maps topic names to valid Kafka names', () => {
    assert.equal(kafkaName('mw.p.events', undefined), 'mw.p.events');
    assert.equal(kafkaName('mw.p.events', 'ns1'), 'ns1.mw.p.events');
    assert.match(kafkaName('a topic/x', undefined), /^a_topic_x_[0-9a-f]{8}$/);
    assert.throws(() => kafkaName('', undefined), ValidationError);
  });

  it('parses kafka:// URLs', () => {
    assert.deepEqual(parseKafkaUrl('kafka://b1:9093,b2?partitions=4&replication=2&namespace=x'), {
      brokers: ['b1:9093', 'b2:9092'],
      partitions: 4,
      replication: 2,
      clientId: 'modelwatch',
      namespace: 'x',
      ssl: false,
    });
    const secure = parseKafkaUrl('kafka://u:p%40ss@b1?ssl=true&sasl=scram-sha-512');
    assert.deepEqual(secure.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'p@ss' });
    assert.equal(secure.ssl, true);
    for (const bad of ['kafka://', 'kafka://b1?partitions=0', 'kafka://b1?nope=1', 'kafka://u@b1', 'nats://b1']) {
      assert.throws(() => parseKafkaUrl(bad), ValidationError, bad);
    }
    assert.doesNotMatch(String((() => { try { parseKafkaUrl('kafka://u:secret@b1?nope=1'); } catch (e) { return (e as Error).message; } })()), /secret/);
  });
});
