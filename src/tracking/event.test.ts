import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInferenceEvent, EventEncoder, jsonNumber, type EndpointInfo, type EventArgs } from './event.ts';
import { jsonNumberCases } from './number-cases.fixture.ts';
import { seededRandom } from './seeded-random.ts';

const base: EndpointInfo = { endpointId: 'e1', project: 'p', function: 'f', model: 'm' };
const start = { ns: 0n, ms: Date.UTC(2026, 10, 26, 12, 0, 1, 234) + 0.567 };

describe('EventEncoder', () => {
  const endpoints: EndpointInfo[] = [
    base,
    { ...base, version: '2', tag: 'prod', modelUri: 'store://models/p/m:prod' },
    { ...base, featureNames: ['a', 'b'], labelNames: ['y'], labels: { team: 'risk', 'q"uote': 'ü\n' } },
    { ...base, featureNames: [], labelNames: [], labels: {} },
    { ...base, model: 'm"odel\\', tag: 'émoji 😀' },
  ];
  const calls: EventArgs[] = [
    { start, latencyUs: 1234, requestId: 'r1', inputs: [[1, 2]], outputs: [0.5] },
    { start, latencyUs: 0, requestId: 'r"2', inputs: [[1.5, 'x'], [null, true]], outputs: [[1, 2], [3, 4]], featureNames: ['c', 'd'] },
    { start, latencyUs: Number.NaN, requestId: 'r3', inputs: [[Number.POSITIVE_INFINITY, -0, 1e21, 5e-324]], outputs: [{ a: 1 }] },
    { start, latencyUs: 7, requestId: 'r4', inputs: [], error: 'model failed: "boom"\n' },
    { start, latencyUs: 7, requestId: 'r5', inputs: [[1]], outputs: [2], metrics: { tokens: 3, cost: 0.25 } },
    { start, latencyUs: 7, requestId: 'r6', inputs: [[1]], outputs: [2], metrics: {} },
    { start, latencyUs: 7, requestId: 'r7', inputs: [[undefined, () => 1]], outputs: [undefined] },
    { start, latencyUs: 7, requestId: 'r8', firstRow: 5000, inputs: [[1], [2]], outputs: [2, 4] },
  ];

  it('writes exactly the JSON of the built event, for every kind of endpoint and request', () => {
    for (const endpoint of endpoints) {
      const encoder = new EventEncoder(endpoint);
      for (const args of calls) {
        const call = args.featureNames === undefined && endpoint.featureNames ? [args, { ...args, featureNames: endpoint.featureNames }] : [args];
        for (const a of call) assert.equal(encoder.encode(a), JSON.stringify(buildInferenceEvent(endpoint, a)), `${JSON.stringify(endpoint)} ${a.requestId}`);
      }
    }
  });

  it('matches on random requests', () => {
    const u = seededRandom(7);
    const endpoint: EndpointInfo = { ...endpoints[2]!, version: '1' };
    const encoder = new EventEncoder(endpoint);
    for (let i = 0; i < 500; i++) {
      const rows = Array.from({ length: 1 + Math.floor(u() * 3) }, () => Array.from({ length: 4 }, () => (u() < 0.1 ? null : (u() - 0.5) * 10 ** Math.floor(u() * 30 - 15))));
      const args: EventArgs = { start: { ns: 0n, ms: start.ms + u() * 1e9 }, latencyUs: Math.floor(u() * 1e7), requestId: `r${i}`, inputs: rows, outputs: rows.map((r) => r[0]) };
      assert.equal(encoder.encode(args), JSON.stringify(buildInferenceEvent(endpoint, args)));
    }
  });

  it('writes a plain request (no metrics, no error, the endpoint\'s own feature names) as head + middle + plainTail', () => {
    for (const endpoint of endpoints) {
      const encoder = new EventEncoder(endpoint);
      for (const args of calls.filter((a) => a.error === undefined && a.metrics === undefined && a.featureNames === undefined)) {
        assert.equal(encoder.head + encoder.middle(args) + encoder.plainTail, encoder.encode(args), `${JSON.stringify(endpoint)} ${args.requestId}`);
      }
    }
  });

  it('throws what JSON.stringify throws for values it cannot write', () => {
    const encoder = new EventEncoder(base);
    assert.throws(() => encoder.encode({ start, latencyUs: 1, requestId: 'r', inputs: [[1n]] }), TypeError);
  });
});

describe('jsonNumber', () => {
  it('writes every number as JSON.stringify does: short decimals, full doubles, near misses, extremes', () => {
    for (const x of jsonNumberCases()) assert.equal(jsonNumber(x), JSON.stringify(x), `for ${x}`);
  });

  it('writes NaN and the infinities as null', () => {
    assert.deepEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY].map(jsonNumber), ['null', 'null', 'null']);
  });
});
