import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointId, requestUuid } from './ids.ts';

describe('requestUuid', () => {
  it('makes version 7 UUIDs, all different, across many refills of its random pool, whose first 48 bits are the time in ms', () => {
    const before = Date.now();
    const ids = Array.from({ length: 20_000 }, () => requestUuid());
    const after = Date.now();
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
    const ms = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    for (const id of ids) assert.ok(ms(id) >= before && ms(id) <= after, id);
    // Time-ordered: ids of later milliseconds sort after earlier ones (the request-id index grows at its end).
    for (let i = 1; i < ids.length; i++) if (ms(ids[i]!) > ms(ids[i - 1]!)) assert.ok(ids[i]! > ids[i - 1]!, `${ids[i - 1]} then ${ids[i]}`);
  });

  it('draws every random digit from all sixteen values, about equally often', () => {
    const n = 16_000;
    const counts = Array.from({ length: 36 }, () => new Map<string, number>());
    for (let i = 0; i < n; i++) {
      const id = requestUuid();
      for (let k = 0; k < 36; k++) counts[k]!.set(id[k]!, (counts[k]!.get(id[k]!) ?? 0) + 1);
    }
    // dashes, the 48 time bits (positions 0-12 but the dash), the version digit, the variant digit
    const fixed = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 18, 19, 23]);
    for (let k = 0; k < 36; k++) {
      if (fixed.has(k)) continue;
      const c = counts[k]!;
      assert.equal(c.size, 16, `position ${k} takes all sixteen digits`);
      // Each digit is expected n/16 = 1,000 times (sd about 31): 850–1,150 is about 5 sd wide.
      for (const [digit, seen] of c) assert.ok(seen > 850 && seen < 1150, `digit ${digit} at position ${k}: ${seen} times`);
    }
    assert.deepEqual([...counts[14]!.keys()], ['7']);
    assert.deepEqual([...counts[19]!.keys()].sort(), ['8', '9', 'a', 'b']);
  });
});

describe('endpointId', () => {
  it('is the sha1 of the parts joined by underscores, with tag latest and an empty version by default', () => {
    // python3 -c "import hashlib; print(hashlib.sha1(b'p_f_latest_m_').hexdigest())"
    assert.equal(endpointId({ project: 'p', function: 'f', model: 'm' }), '9e3ab86b897e2ca326f408d692250f009c8bfb08');
  });
});
