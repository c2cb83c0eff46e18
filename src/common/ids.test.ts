import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointId, requestUuid } from './ids.ts';

describe('requestUuid', () => {
  it('makes version 4 UUIDs, all different, across many refills of its random pool', () => {
    const ids = Array.from({ length: 20_000 }, () => requestUuid());
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('draws every random digit from all sixteen values, about equally often', () => {
    const n = 16_000;
    const counts = Array.from({ length: 36 }, () => new Map<string, number>());
    for (let i = 0; i < n; i++) {
      const id = requestUuid();
      for (let k = 0; k < 36; k++) counts[k]!.set(id[k]!, (counts[k]!.get(id[k]!) ?? 0) + 1);
    }
    const fixed = new Set([8, 13, 14, 18, 19, 23]); // dashes, the version digit, the variant digit
    for (let k = 0; k < 36; k++) {
      if (fixed.has(k)) continue;
      const c = counts[k]!;
      assert.equal(c.size, 16, `position ${k} takes all sixteen digits`);
      // Each digit is expected n/16 = 1,000 times (sd about 31): 850–1,150 is about 5 sd wide.
      for (const [digit, seen] of c) assert.ok(seen > 850 && seen < 1150, `digit ${digit} at position ${k}: ${seen} times`);
    }
    assert.deepEqual([...counts[14]!.keys()], ['4']);
    assert.deepEqual([...counts[19]!.keys()].sort(), ['8', '9', 'a', 'b']);
  });
});

describe('endpointId', () => {
  it('is the sha1 of the parts joined by underscores, with tag latest and an empty version by default', () => {
    // python3 -c "import hashlib; print(hashlib.sha1(b'p_f_latest_m_').hexdigest())"
    assert.equal(endpointId({ project: 'p', function: 'f', model: 'm' }), '9e3ab86b897e2ca326f408d692250f009c8bfb08');
  });
});
