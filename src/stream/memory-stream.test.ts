import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStream } from './memory-stream.ts';
import { fnv1a32, partitionFor } from './partition.ts';
import { caughtUp } from './port.ts';

describe('partitionFor', () => {
  it('is FNV-1a 32 over UTF-8 (reference vectors)', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  it('maps a key to the same partition every time and spreads keys', () => {
    assert.equal(partitionFor('anything', 1), 0);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = partitionFor(`endpoint-${i}`, 8);
      assert.equal(p, partitionFor(`endpoint-${i}`, 8));
      assert.ok(p >= 0 && p < 8);
      seen.add(p);
    }
    assert.equal(seen.size, 8);
  });

  it('rejects a bad partition count', () => {
    assert.throws(() => partitionFor('k', 0), RangeError);
    assert.throws(() => partitionFor('k', 1.5), RangeError);
  });
});

describe('MemoryStream (test double)', () => {
  it('partitions by key and keeps per-key order', async () => {
    const s = new MemoryStream({ partitions: 4 });
    await s.publish('t', Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 5}`, value: String(i) })));
    const all = s.messages('t');
    assert.equal(all.length, 40);
    for (const m of all) assert.equal(m.partition, partitionFor(m.key, 4));
    const k0 = all.filter((m) => m.key === 'k0').map((m) => Number(m.value));
    assert.deepEqual(k0, [0, 5, 10, 15, 20, 25, 30, 35]);
  });

  it('hands each message to one consumer of a group once, and to every group', async () => {
    const s = new MemoryStream({ partitions: 3 });
    await s.publish('t', Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: String(i) })));
    const a = await s.subscribe('t', 'g');
    const b = await s.subscribe('t', 'g');
    const other = await s.subscribe('t', 'other');
    const got = [...(await a.fetch(12)), ...(await b.fetch(100)), ...(await a.fetch(100))];
    assert.equal(got.length, 30);
    assert.equal(new Set(got.map((m) => m.value)).size, 30);
    assert.equal((await other.fetch(100)).length, 30);
    assert.equal(await a.lag(), 30);
  });

  it('commits on ack, counts lag, and redelivers what a closed consumer did not ack', async () => {
    const s = new MemoryStream();
    await s.publish('t', Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: String(i) })));
    const a = await s.subscribe('t', 'g');
    const first = await a.fetch(4);
    await a.ack(first.slice(0, 2));
    assert.equal(await a.lag(), 8);
    await a.close();
    const b = await s.subscribe('t', 'g');
    const again = await b.fetch(100);
    assert.deepEqual(again.map((m) => m.value), ['2', '3', '4', '5', '6', '7', '8', '9']);
    await b.ack(again);
    assert.equal(await b.lag(), 0);
    await assert.rejects(b.ack([{ ...again[0]!, offset: '99' }]), /not handed out/);
  });

  it('fetch waits for a publish, and a new group can start at the latest message', async () => {
    const s = new MemoryStream();
    await s.publish('t', [{ key: 'k', value: 'old' }]);
    const sub = await s.subscribe('t', 'late', { from: 'latest' });
    const waiting = sub.fetch(10, 2000);
    await s.publish('t', [{ key: 'k', value: 'new' }]);
    assert.deepEqual((await waiting).map((m) => m.value), ['new']);
    const t0 = Date.now();
    assert.deepEqual(await sub.fetch(10, 30), []);
    assert.ok(Date.now() - t0 >= 25);
  });

  it('reports per partition the last offset published and what each group acknowledged', async () => {
    const s = new MemoryStream({ partitions: 2 });
    const keys = ['a', 'b', 'c', 'd'].filter((k) => partitionFor(k, 2) === 0).slice(0, 1);
    await s.publish('t', [...keys, ...keys].map((key, i) => ({ key, value: String(i) })));
    const at = await s.progress('t', 'g');
    assert.deepEqual(at, [
      { partition: 0, published: '1', acknowledged: undefined },
      { partition: 1, published: undefined, acknowledged: undefined },
    ]);
    const sub = await s.subscribe('t', 'g');
    const got = await sub.fetch(10);
    await sub.ack(got.slice(0, 1));
    assert.ok(!caughtUp(at, await s.progress('t', 'g')));
    await sub.ack(got);
    assert.deepEqual((await s.progress('t', 'g'))[0], { partition: 0, published: '1', acknowledged: '1' });
    assert.ok(caughtUp(at, await s.progress('t', 'g')));
    assert.ok(!caughtUp(at, await s.progress('t', 'other')));
  });

  it('fails a publish through the hook without appending, and rejects bad messages', async () => {
    const s = new MemoryStream();
    s.beforePublish = () => {
      throw new Error('down');
    };
    await assert.rejects(s.publish('t', [{ key: 'k', value: 'v' }]), /down/);
    assert.equal(s.messages('t').length, 0);
    s.beforePublish = undefined;
    await assert.rejects(s.publish('t', [{ key: 'k', value: 1 as unknown as string }]), /messages\[0\]/);
    assert.equal(s.publishCalls, 2);
    await s.close();
    await assert.rejects(s.publish('t', []), /closed/);
  });
});
