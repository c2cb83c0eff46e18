import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventEncoder, type EndpointInfo, type EventArgs } from '../../tracking/event.ts';
import { seededRandom } from '../../tracking/seeded-random.ts';
import { parseRow, rowTexts } from './row-text.ts';
import { parseEvent } from './validate-event.ts';

const start = { ns: 0n, ms: Date.UTC(2026, 10, 26, 12, 0, 1, 234) + 0.567 };
const endpoint: EndpointInfo = { endpointId: 'e1', project: 'p', function: 'f', model: 'm', version: '1', modelUri: 'store://models/p/m:latest', featureNames: ['a', 'b'], labelNames: ['y'] };
const encoder = new EventEncoder(endpoint);

/** What the stream processor stores for each row when it encodes the parsed event itself. */
function encodedRows(raw: string): { features: string[]; outputs: string[] } {
  const parsed = parseEvent(raw);
  assert.ok(parsed.ok, raw);
  const outputs = parsed.event.response?.outputs ?? [];
  return {
    features: parsed.event.request.inputs.map((r) => JSON.stringify(r)),
    outputs: parsed.event.request.inputs.map((_, i) => {
      const o = outputs[i];
      return JSON.stringify(o === undefined ? [] : Array.isArray(o) ? o : [o]);
    }),
  };
}

/** rowTexts must give, wherever it gives anything, exactly what encoding the parsed rows gives. */
function check(raw: string): ReturnType<typeof rowTexts> {
  const expected = encodedRows(raw);
  const parsed = parseEvent(raw);
  const texts = rowTexts(raw, parsed.ok ? parsed.event.request.inputs.length : 0);
  if (texts) {
    assert.deepEqual(texts.features, expected.features, raw);
    if (texts.outputs) assert.deepEqual(texts.outputs, expected.outputs, raw);
  }
  return texts;
}

describe('rowTexts', () => {
  it("cuts out each row's features and outputs as the JSON of the parsed values", () => {
    const cases: EventArgs[] = [
      { start, latencyUs: 5, requestId: 'r1', inputs: [[1, 2.5]], outputs: [0.5] },
      { start, latencyUs: 5, requestId: 'r2', inputs: [[1, -2e-7], [3e21, null], [true, false]], outputs: [[1, 2], [3, null], [false, 4]] },
      { start, latencyUs: 5, requestId: 'r3', inputs: [[Number.NaN, Number.POSITIVE_INFINITY, -0]], outputs: [Number.NaN] },
      { start, latencyUs: 5, requestId: 'r4', inputs: [[1], []], outputs: [1, []] },
      // A request id holding what the cutter looks for (escaped in the event, so never matched).
      { start, latencyUs: 5, requestId: 'x","inputs":[[9]]},"response":{"outputs":[9]', inputs: [[1, 2]], outputs: [3] },
    ];
    for (const args of cases) {
      const texts = check(encoder.encode(args));
      assert.ok(texts?.outputs, `cut out: ${args.requestId}`);
    }
  });

  it('leaves to the caller what it cannot cut out for sure', () => {
    // Strings or nested values in a row: nothing is cut out.
    assert.equal(check(encoder.encode({ start, latencyUs: 1, requestId: 'r', inputs: [[1, 'x']], outputs: [1] })), undefined);
    assert.equal(check(encoder.encode({ start, latencyUs: 1, requestId: 'r', inputs: [[1, [2]]], outputs: [1] })), undefined);
    // Outputs that are not plain: the features only.
    for (const outputs of [['yes'], [{ p: 1 }], [[1, [2]]]]) {
      const texts = check(encoder.encode({ start, latencyUs: 1, requestId: 'r', inputs: [[1, 2]], outputs }));
      assert.ok(texts && texts.outputs === undefined, JSON.stringify(outputs));
    }
    // No response: the features only.
    assert.deepEqual(check(encoder.encode({ start, latencyUs: 1, requestId: 'r', inputs: [[1, 2]] })), { features: ['[1,2]'] });
    // Another layout: white space, another key order, another version of the event.
    const raw = encoder.encode({ start, latencyUs: 1, requestId: 'r', inputs: [[1, 2]], outputs: [3] });
    const event = JSON.parse(raw) as Record<string, unknown>;
    assert.equal(check(JSON.stringify(event, null, 1)), undefined);
    // The request last: its rows are still the request's, the outputs come later and are left.
    const { request, ...rest } = event;
    assert.deepEqual(check(JSON.stringify({ ...rest, request })), { features: ['[1,2]'] });
    assert.equal(check(raw.replace('{"v":1,', '{"v":2,')), undefined);
    // A row count that does not match what the parse found.
    assert.equal(rowTexts(raw, 2), undefined);
  });

  it('agrees with encoding the parsed rows on random requests', () => {
    const u = seededRandom(11);
    const value = (): unknown => {
      const k = u();
      if (k < 0.6) return (u() - 0.5) * 10 ** Math.floor(u() * 40 - 20);
      if (k < 0.7) return Math.floor(u() * 1000) - 500;
      if (k < 0.75) return null;
      if (k < 0.8) return u() < 0.5;
      if (k < 0.85) return Number.NaN;
      if (k < 0.9) return 'text';
      return 0;
    };
    let cut = 0;
    for (let n = 0; n < 2000; n++) {
      const rows = 1 + Math.floor(u() * 4);
      const width = Math.floor(u() * 6);
      const inputs = Array.from({ length: rows }, () => Array.from({ length: width }, value));
      const outputs = Array.from({ length: rows }, () => (u() < 0.5 ? value() : [value(), value()]));
      if (check(encoder.encode({ start, latencyUs: n, requestId: `r${n}`, inputs, outputs }))?.outputs) cut++;
    }
    assert.ok(cut > 200, `rows cut out of ${cut} of 2000 events`);
  });
});

describe('parseRow', () => {
  /** parseRow must give exactly what JSON.parse gives (every double bit for bit, -0 included), or throw as it throws. */
  function same(text: string): void {
    let expected: unknown;
    try {
      expected = JSON.parse(text);
    } catch (err) {
      assert.throws(() => parseRow(text), (err as Error).constructor as new () => Error, text);
      return;
    }
    const got = parseRow(text);
    assert.equal(got.length, (expected as unknown[]).length, text);
    (expected as unknown[]).forEach((v, i) => assert.ok(Object.is(got[i], v), `${text}[${i}]: ${String(got[i])} vs ${String(v)}`));
  }

  it('reads numbers as JSON.parse does, to the last bit', () => {
    const u = seededRandom(17);
    for (let k = 0; k < 20_000; k++) {
      const n = 1 + Math.floor(u() * 12);
      const values = Array.from({ length: n }, () => {
        const pick = u();
        const magnitude = 10 ** Math.floor(u() * 30 - 12);
        const x = (u() - 0.3) * magnitude;
        // As serving writes them (shortest round trip), rounded to a few decimals, and integers.
        if (pick < 0.4) return String(x);
        if (pick < 0.8) return x.toFixed(Math.floor(u() * 17));
        return String(Math.round(x));
      });
      same(`[${values.join(',')}]`);
    }
  });

  it('leaves to JSON.parse what is not a plain decimal, and fails where it fails', () => {
    const texts = [
      '[0]', '[-0]', '[0.0]', '[-0.000]', '[1.5,null,true,false]', '[1e3]', '[1E-7,2]', '[123456789012345678]',
      '[0.1234567890123456789]', '[9007199254740993]', '[1.00000000000000000000001]', '[5e-324]', '[1.7976931348623157e308]',
      '[01]', '[1.]', '[.5]', '[-]', '[1,]', '[,1]', '[1 ,2]', '[ 1]', '[1,2] ', '[+1]', '[1,2', '[]', '[0x10]', '[Infinity]', '[NaN]', '[--1]',
    ];
    for (const t of texts) same(t);
  });
});
