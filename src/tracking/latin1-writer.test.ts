import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonString, whenIso } from './event.ts';
import { Latin1Writer } from './latin1-writer.ts';
import { jsonNumberCases } from './number-cases.fixture.ts';
import { seededRandom } from './seeded-random.ts';

describe('Latin1Writer', () => {
  it('writes every number as JSON.stringify does, growing its buffer as it goes', () => {
    const xs = jsonNumberCases();
    const w = new Latin1Writer(64);
    const ends: number[] = [];
    for (const x of xs) {
      w.number(x);
      ends.push(w.len);
    }
    assert.ok(w.buf.length > 64);
    xs.forEach((x, i) => assert.equal(w.text(i === 0 ? 0 : ends[i - 1], ends[i]), JSON.stringify(x), `for ${x}`));
  });

  it('writes strings as jsonString does, and says so when one has a character past U+00FF', () => {
    const fits = ['', 'req-1', '7f3c2a1e-0b4d-4e8f-9a6b-000000000001', 'a"b\\c', 'tab\there\nand\u0000', 'é ü ÿ', 'lone \ud800 surrogate', 'x'.repeat(200), `${'y'.repeat(150)}"`];
    const w = new Latin1Writer(16);
    for (const s of fits) {
      const from = w.len;
      assert.equal(w.string(s), true, s);
      assert.equal(w.text(from), jsonString(s), s);
    }
    for (const s of ['😀', 'id 😀', 'Ā', `${'z'.repeat(130)}€`]) {
      const w2 = new Latin1Writer();
      assert.equal(w2.string(s), false, s);
    }
  });

  it('writes times as whenIso does, across seconds and with fractions of a millisecond', () => {
    const u = seededRandom(3);
    const w = new Latin1Writer(8);
    const times = [0, 999.9999, 1000, Date.UTC(2026, 10, 27, 23, 59, 59, 999) + 0.999, -1.5, -86_400_000.25];
    let t = Date.UTC(2026, 10, 27, 10, 0, 0);
    for (let i = 0; i < 20_000; i++) {
      t += u() * 300;
      times.push(i % 3 === 0 ? Math.floor(t) : t);
    }
    for (const ms of times) {
      const from = w.len;
      w.when(ms);
      assert.equal(w.text(from), whenIso(ms), `for ${ms}`);
    }
  });

  it('throws what whenIso throws for a time that is no date', () => {
    assert.throws(() => new Latin1Writer().when(Number.NaN), RangeError);
  });
});
