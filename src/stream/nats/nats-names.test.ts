import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../common/errors.ts';
import { cutRuns } from '../batching.ts';
import { checkTopic, partitionSubject, placeGroup, placeTopic } from './nats-names.ts';
import { BASE_HEADER, COUNT_HEADER, decodeEntries, decodePack, decodeSharedEntries, encodeEntries, nextOffsetAfter, PACK_HEADER, PACK_VERSION } from './nats-pack.ts';
import { parseNatsUrl } from './nats-url.ts';

const hdrs = (o: Record<string, string>) => ({ get: (k: string) => o[k] ?? '' });

describe('NATS naming', () => {
  it('puts a project topics in the project stream and partitions on subjects', () => {
    const events = placeTopic('mw.shop.events', undefined);
    const app = placeTopic('mw.shop.app.drift', undefined);
    assert.equal(events.stream, 'MW_shop');
    assert.equal(app.stream, 'MW_shop');
    assert.equal(events.streamSubjects, 'mw.shop.>');
    assert.equal(partitionSubject(events, 3), 'mw.shop.events.p3');
    assert.equal(events.metaStream, 'MWMETA_MW_shop');
  });

  it('keeps namespaced and odd topics apart, with valid names', () => {
    const a = placeTopic('t', 'ns1');
    const b = placeTopic('t', 'ns2');
    assert.notEqual(a.stream, b.stream);
    assert.equal(a.topicSubject, 'ns1.t');
    assert.match(placeTopic('mw.my-project!.events', undefined).stream, /^MW_X_[A-Za-z0-9_-]+_[0-9a-f]{8}$/);
    const g = placeGroup(a, 'stream processor');
    assert.match(g.consumer(0), /^stream_processor_[0-9a-f]{8}_p0$/);
    assert.notEqual(placeGroup(a, 'g').consumer(0), placeGroup(placeTopic('u', 'ns1'), 'g').consumer(0), 'one group on two topics');
  });

  it('refuses topics that cannot be subjects', () => {
    for (const bad of ['', 'a..b', 'a b', 'a.*', 'a.>', '$SYS.x', '_mwmeta.x', 'mw']) assert.throws(() => checkTopic(bad), ValidationError, bad);
  });
});

describe('NATS packs', () => {
  it('round-trips events and reads offsets from the headers', () => {
    const messages = [
      { key: 'k', value: 'v"1,2\n3' },
      { key: 'ü', value: '' },
      { key: '', value: '{"a":"😀"}' },
    ];
    const body = encodeEntries(messages);
    const pack = decodePack({ seq: 7, headers: hdrs({ [PACK_HEADER]: PACK_VERSION, [BASE_HEADER]: '40' }), data: body, timestampMs: 5 });
    assert.deepEqual(pack, { seq: 7, base: 40, entries: messages.map((m) => [m.key, m.value]), timestamp: 5 });
    assert.deepEqual(decodeSharedEntries(encodeEntries([])), []);
    assert.deepEqual(decodeSharedEntries(encodeEntries([messages[0]!])), [['k', 'v"1,2\n3']]);
    assert.equal(nextOffsetAfter(hdrs({ [PACK_HEADER]: PACK_VERSION, [BASE_HEADER]: '40', [COUNT_HEADER]: '3' })), 43);
    assert.equal(decodePack({ seq: 1, headers: undefined, data: body, timestampMs: 0 }), undefined, 'not ours');
  });

  it('still reads version-1 (JSON) packs', () => {
    const body = new TextEncoder().encode(JSON.stringify([['k', 'v"1'], ['ü', '']]));
    const pack = decodePack({ seq: 7, headers: hdrs({ [PACK_HEADER]: '1', [BASE_HEADER]: '40' }), data: body, timestampMs: 5 });
    assert.deepEqual(pack, { seq: 7, base: 40, entries: [['k', 'v"1'], ['ü', '']], timestamp: 5 });
    assert.equal(nextOffsetAfter(hdrs({ [PACK_HEADER]: '1', [BASE_HEADER]: '40', [COUNT_HEADER]: '2' })), 42);
  });

  it('stores what the events of one key share once, and reads them back as they were', () => {
    const messages = Array.from({ length: 90 }, (_, i) => ({
      key: `ep-${i % 3}`,
      value: `{"endpointId":"ep-${i % 3}","modelUri":"store://models/p/m:latest","when":"${i}","x":[${i},"é😀"]},"featureNames":["a","b","c"]}`,
    }));
    const body = encodeEntries(messages);
    const whole = Buffer.byteLength(messages.map((m) => m.key + m.value).join(''));
    assert.ok(body.length < whole / 2, `${body.length} bytes for ${whole}`);
    const pack = decodePack({ seq: 3, headers: hdrs({ [PACK_HEADER]: PACK_VERSION, [BASE_HEADER]: '0' }), data: body, timestampMs: 1 });
    assert.deepEqual(pack?.entries, messages.map((m) => [m.key, m.value]));
    const good = Buffer.from(encodeEntries([{ key: 'ab', value: 'cd' }])).toString();
    for (const bad of ['', 'abcd', '{"lens":[2],"keys":["ab"]}\nabc', '{"lens":[2,1],"keys":["ab"]}\ncd', '{"lens":[2],"keys":[]}\ncd', 'nope\ncd', '{"lens":[],"keys":[]}\nx']) {
      assert.equal(decodeSharedEntries(Buffer.from(bad)), undefined, JSON.stringify(bad));
    }
    assert.deepEqual(decodeSharedEntries(Buffer.from(good)), [['ab', 'cd']]);
  });

  it('still reads version-2 bodies, and refuses damaged ones', () => {
    const good = '1:2,2\nabcd';
    const pack = decodePack({ seq: 7, headers: hdrs({ [PACK_HEADER]: '2', [BASE_HEADER]: '40' }), data: Buffer.from('2:1,2,1,0\nkv1ü'), timestampMs: 5 });
    assert.deepEqual(pack?.entries, [['k', 'v1'], ['ü', '']]);
    assert.equal(nextOffsetAfter(hdrs({ [PACK_HEADER]: '2', [BASE_HEADER]: '40', [COUNT_HEADER]: '2' })), 42);
    for (const bad of ['', '1:2,2', '1:2,2\nabc', '1:2,2\nabcde', '2:2,2\nabcd', 'x:2,2\nabcd', '1:2,-1\nab', '1:a,2\nabcd']) {
      assert.equal(decodeEntries(Buffer.from(bad)), undefined, JSON.stringify(bad));
    }
    assert.deepEqual(decodeEntries(Buffer.from(good)), [['ab', 'cd']]);
  });

  it('cuts runs by count and size, keeping order', () => {
    const ms = Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: 'x'.repeat(100) + i }));
    assert.deepEqual(cutRuns(ms, 4, 1e9).map((r) => r.length), [4, 4, 2]);
    assert.deepEqual(cutRuns(ms, 100, 250).map((r) => r.length), [2, 2, 2, 2, 2]);
    assert.deepEqual(cutRuns(ms, 100, 10).map((r) => r.length), Array(10).fill(1), 'an oversized message still gets a run');
  });
});

describe('parseNatsUrl', () => {
  it('reads servers, credentials and options', () => {
    assert.deepEqual(parseNatsUrl('nats://a,b:4223?partitions=4&namespace=x&replicas=3'), {
      servers: ['a:4222', 'b:4223'],
      partitions: 4,
      namespace: 'x',
      replicas: 3,
    });
    assert.deepEqual(parseNatsUrl('nats://u:p%3Aw@h:1'), { servers: ['h:1'], user: 'u', pass: 'p:w', replicas: 1 });
    assert.equal(parseNatsUrl('nats://tok@h').token, 'tok');
    for (const bad of ['nats://', 'nats://h?partitions=x', 'nats://h?what=1', 'nats://h?namespace=a.b', 'kafka://h']) {
      assert.throws(() => parseNatsUrl(bad), ValidationError, bad);
    }
  });
});
