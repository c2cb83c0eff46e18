import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../tracking/seeded-random.ts';
import type { OutgoingMessage } from './port.ts';
import { cutPacks, decodePackIndex, dropFirstEvents, encodePack, encodePacks, MAX_PACK_CHARS, unpack, type PackRow } from './pack.ts';

/** Every message of a stored row, as a reader gets them. */
function unpackRow(row: PackRow): OutgoingMessage[] {
  return row.pack === null ? [{ key: row.key, value: row.value }] : unpack(decodePackIndex(row.pack, row.n, row.value.length), row.value);
}

/** No lone surrogate (String#isWellFormed, which this TypeScript target does not declare). */
const wellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

const eventLike = (key: string, i: number, mid = `${i}`) => ({ key, value: `{"endpointId":"${key}","model":"m","when":"t${mid}","x":[${i}]},"featureNames":["a","b"]}` });

describe('log packs', () => {
  it('stores what the events of one key share once, and reads every event back as it was', () => {
    const messages = Array.from({ length: 60 }, (_, i) => eventLike(`ep${i % 3}`, i));
    const row = encodePack(messages);
    assert.deepEqual(unpackRow(row), messages);
    const index = decodePackIndex(row.pack!, row.n, row.value.length);
    assert.deepEqual(index.keys, ['ep0', 'ep1', 'ep2']);
    assert.deepEqual(index.pre, ['{"endpointId":"ep0","model":"m","when":"t', '{"endpointId":"ep1","model":"m","when":"t', '{"endpointId":"ep2","model":"m","when":"t']);
    assert.ok(index.suf!.every((s) => s.endsWith(']},"featureNames":["a","b"]}')));
    const whole = messages.reduce((a, m) => a + m.value.length, 0);
    assert.ok(row.value.length < whole / 4, `stored ${row.value.length} of ${whole} characters`);
  });

  it('keeps events that share nothing, a key of one event and identical events whole', () => {
    for (const messages of [
      [{ key: 'a', value: 'x1' }, { key: 'a', value: 'y2' }],
      [eventLike('a', 1), eventLike('b', 2)],
      [eventLike('a', 1), eventLike('a', 1), eventLike('a', 1)],
    ]) {
      const row = encodePack(messages);
      assert.deepEqual(unpackRow(row), messages);
      assert.equal(decodePackIndex(row.pack!, row.n, row.value.length).pre, undefined);
    }
  });

  it('never splits a surrogate pair between the shared part and the rest', () => {
    const key = 'k';
    // The values share the high half of an emoji; their low halves differ (😀 vs 😁), at both ends.
    const messages = [`${'p'.repeat(10)}\u{1F600}mid1\u{1F600}${'s'.repeat(10)}`, `${'p'.repeat(10)}\u{1F601}mid22\u{1F601}${'s'.repeat(10)}`].map((value) => ({ key, value }));
    const row = encodePack(messages);
    const index = decodePackIndex(row.pack!, row.n, row.value.length);
    assert.deepEqual(index.pre, ['p'.repeat(10)]);
    assert.deepEqual(index.suf, ['s'.repeat(10)]);
    assert.equal(row.value, '\u{1F600}mid1\u{1F600}\u{1F601}mid22\u{1F601}');
    assert.ok(wellFormed(row.value), 'what SQLite stores as UTF-8 has no lone surrogate');
    assert.deepEqual(unpackRow(row), messages);
  });

  it('round-trips random values of several keys, with multi-byte and astral characters', () => {
    const u = seededRandom(11);
    const alphabet = ['a', 'b', '"', '\\', 'é', '😀', '\u{10FFFF}', '{', '}'];
    const pick = () => alphabet[Math.floor(u() * alphabet.length)]!;
    for (let round = 0; round < 200; round++) {
      const heads = ['', 'head-😀-', 'HEAD'];
      const messages = Array.from({ length: 2 + Math.floor(u() * 30) }, () => {
        const k = Math.floor(u() * 3);
        const middle = Array.from({ length: Math.floor(u() * 12) }, pick).join('');
        return { key: `k${k}`, value: `${heads[k]}${middle}${u() < 0.8 ? '-tail-é😀' : ''}` };
      });
      const row = encodePack(messages);
      assert.deepEqual(unpackRow(row), messages);
      assert.ok(wellFormed(row.value));
      for (let drop = 1; drop < messages.length; drop++) assert.deepEqual(unpackRow(dropFirstEvents({ value: row.value, n: row.n, pack: row.pack! }, drop)), messages.slice(drop));
    }
  });

  it('cuts packs below the large-string size and reads an index without a share as before', () => {
    const big = Array.from({ length: 3000 }, (_, i) => eventLike(`ep${i % 5}`, i, 'x'.repeat(50)));
    const packs = cutPacks(big, MAX_PACK_CHARS);
    assert.ok(packs.length > 1);
    for (const p of packs) assert.ok(p.reduce((a, m) => a + m.value.length, 0) <= MAX_PACK_CHARS);
    assert.deepEqual(packs.flat(), big);
    // Encoded: what each pack stores fits, and the events come back in order.
    for (const messages of [big, big.map((m, i) => ({ key: m.key, value: `${i}${'y'.repeat(300)}${i}` }))]) {
      const rows = encodePacks(messages);
      for (const r of rows) assert.ok(r.value.length <= MAX_PACK_CHARS, `a pack stores ${r.value.length} characters`);
      assert.deepEqual(rows.flatMap(unpackRow), messages);
    }
    // Events that share most of their text: a run of whole values larger than a pack is still one pack.
    const alike = Array.from({ length: 400 }, (_, i) => eventLike(`ep${i % 20}`, i, 'x'.repeat(100)));
    assert.ok(alike.reduce((a, m) => a + m.value.length, 0) > MAX_PACK_CHARS);
    assert.equal(encodePacks(alike).length, 1);
    assert.deepEqual(decodePackIndex('{"lens":[1,2],"keys":["k"]}', 2, 3), { lens: [1, 2], keys: ['k'] });
    assert.throws(() => decodePackIndex('{"lens":[1,2],"keys":["k"],"pre":["a"]}', 2, 3), /cannot be read/);
    assert.throws(() => decodePackIndex('{"lens":[1,2],"keys":["k"],"pre":["a","b"],"suf":["c","d"]}', 2, 3), /cannot be read/);
  });
});
