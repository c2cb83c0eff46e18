import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { SETTING_LIMITS } from '../../src/common/limits.ts';
import type { Platform } from '../../src/project/platform.ts';
import { hostileRestServer, type RestAnswer } from '../server/helpers.ts';

/*
 * Hostile REST bodies, 1,000 cases per entry point, through the real server and a real HTTP client:
 * never a 5xx, and nothing out of range stored. (Query strings: test/server/limits.test.ts.) Here
 * because each accepted case does real work (functions deployed, training sets profiled): about a
 * minute in all.
 */

const SQLISH = ["a' OR '1'='1", '1; DROP TABLE projects; --', '../../etc/passwd', '%00', '\u0000', '${jndi:x}', '<script>', '1e15', '-1', 'NaN', 'Infinity', '2024-02-30', '99999999999999999999'];
const hostileText = fc.oneof(fc.constantFrom(...SQLISH), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.integer().map(String));
/** A number as JSON text, including ones JSON can write but JavaScript cannot hold (1e400). */
const numberText = fc.oneof(
  fc.integer({ min: -5, max: 20_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom('1e15', '1e400', '-1e400', '1.5', '0', '-0', '10080', '10081', '86400', '86401', '10000', '10001', '1e-9', '"5"', 'true', 'null', '[]', '{}'),
);

describe('REST API: hostile bodies (fast-check, real HTTP)', { timeout: 600_000 }, () => {
  let platform: Platform;
  let call: (method: 'GET' | 'POST', path: string, body?: string) => Promise<RestAnswer>;
  let close: () => Promise<void>;

  before(async () => {
    ({ platform, call, close } = await hostileRestServer('mw-hostile-'));
  });
  after(() => close());

  it('POST monitoring/enable and monitoring/controller: 1,000 hostile bodies each; out-of-range numbers get 400 and are never stored', async () => {
    const field = fc.constantFrom('basePeriod', 'graceSeconds', 'maxWindowsPerTick', 'rebuild', 'deployHistogramDataDriftApp', 'basePeriodMinutes', '__proto__');
    const body = fc.array(fc.tuple(field, numberText), { maxLength: 4 }).map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`);
    for (const route of ['/projects/p/monitoring/enable', '/projects/p/monitoring/controller']) {
      await fc.assert(
        fc.asyncProperty(body, fc.boolean(), async (text, rebuild) => {
          const sent = route.endsWith('enable') && rebuild ? text.replace(/^\{/, text === '{}' ? '{"rebuild": true' : '{"rebuild": true, ') : text;
          const r = await call('POST', route, sent);
          assert.ok([200, 400, 409].includes(r.status), `${route} ${sent} -> ${r.status} ${JSON.stringify(r.body)}`);
          const v = JSON.parse(sent.replace(/-?1e400/g, '"inf"')) as Record<string, unknown>;
          if (r.status === 200) {
            const bp = v.basePeriod;
            assert.ok(bp === undefined || (typeof bp === 'number' && Number.isInteger(bp) && bp >= 1 && bp <= SETTING_LIMITS.basePeriodMinutes), `accepted basePeriod ${String(bp)}`);
          }
          const stored = (await platform.store.getProject('p'))!.monitoring;
          if (stored) {
            assert.ok(Number.isInteger(stored.basePeriodMinutes) && stored.basePeriodMinutes >= 1 && stored.basePeriodMinutes <= SETTING_LIMITS.basePeriodMinutes, JSON.stringify(stored));
            assert.ok(stored.graceSeconds >= 0 && stored.graceSeconds <= SETTING_LIMITS.graceSeconds, JSON.stringify(stored));
            assert.ok(Number.isInteger(stored.maxWindowsPerTick) && stored.maxWindowsPerTick >= 1 && stored.maxWindowsPerTick <= SETTING_LIMITS.maxWindowsPerTick, JSON.stringify(stored));
          }
        }),
        { numRuns: 1000 },
      );
    }
    const r = await call('POST', '/projects/p/monitoring/enable', '{"basePeriod": 1e15, "rebuild": true}');
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'basePeriod must be a whole number of minutes from 1 to 10080 (a week), got 1000000000000000');
  });

  it('POST models/:key: 1,000 hostile training sets get 201 or 400, never 5xx', async () => {
    const cell = fc.oneof(fc.integer(), fc.double(), hostileText, fc.boolean(), fc.constant(null), fc.constant('__huge__'), fc.jsonValue({ maxDepth: 2 }));
    const rows = fc.array(fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 'label'), hostileText), cell, { maxKeys: 3 }), { maxLength: 6 });
    const trainingSet = fc.oneof(
      rows,
      fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.array(cell, { maxLength: 5 })),
      fc.record({ csv: fc.oneof(hostileText, fc.constant('a,b\n1,2\n3,x')) }),
      fc.record({ jsonl: fc.oneof(hostileText, fc.constant('{"a": 1}\n{"a": "x"}')) }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const body = fc.record({ trainingSet, labelColumn: fc.oneof(fc.constantFrom('label', 'a'), hostileText), tag: fc.oneof(fc.constantFrom('v1', 'latest'), hostileText) }, { requiredKeys: ['trainingSet'] });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const text = JSON.stringify(b).replaceAll('"__huge__"', '1e400');
        const r = await call('POST', '/projects/p/models/m', text);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        assert.ok(r.status === 201 || r.status === 400, `${text.slice(0, 300)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      }),
      { numRuns: 1000 },
    );
    assert.ok((statuses.get(201) ?? 0) > 20 && (statuses.get(400) ?? 0) > 100, JSON.stringify([...statuses]));
    // What was stored holds only finite reference statistics (1e400 is a missing value, not a bin edge).
    for (const m of await platform.store.listModels('p')) {
      assert.ok(/^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/.test(m.tag), m.tag);
      for (const [name, st] of Object.entries(m.featureStats)) {
        const numbers = [st.count, st.missing, st.mean, st.std, st.min, st.max, ...(st.hist?.edges ?? []), ...(st.hist?.counts ?? [])].filter((x) => x !== undefined);
        assert.ok(numbers.every((x) => typeof x === 'number' && Number.isFinite(x)), `${name}: ${JSON.stringify(st).slice(0, 300)}`);
      }
    }
  });
});
