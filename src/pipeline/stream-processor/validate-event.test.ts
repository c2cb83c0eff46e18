import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVENT_LIMITS } from '../../common/event-limits.ts';
import { EventEncoder, type EndpointInfo, type EventArgs } from '../../tracking/event.ts';
import { seededRandom } from '../../tracking/seeded-random.ts';
import { rowTexts } from './row-text.ts';
import { EventParser, parseEvent } from './validate-event.ts';

const T = Date.UTC(2026, 10, 26, 12, 0, 1, 234);

const endpoints: EndpointInfo[] = [
  { endpointId: 'e1', project: 'p', function: 'f', model: 'm', version: '1', modelUri: 'store://models/p/m:latest', featureNames: ['a', 'b'], labelNames: ['y'] },
  { endpointId: 'e2', project: 'p', function: 'f', model: 'm2', tag: 'prod', labels: { team: 'ünï' } },
  // The same id with another model URI (a model logged again): a head of its own.
  { endpointId: 'e1', project: 'p', function: 'f', model: 'm', version: '1', modelUri: 'store://models/p/m:v2', featureNames: ['a', 'b'], labelNames: ['y'] },
  // Ids and names that JSON escapes.
  { endpointId: 'e"3\\', project: 'p', function: 'f\n', model: '✓', featureNames: ['x"', 'y'] },
];

/** parse() must give what parseEvent gives, for every text, in any order (its memory of heads and tails included). */
function same(parser: EventParser, raw: string): void {
  assert.deepEqual(parser.parse(raw), parseEvent(raw), raw);
}

describe('EventParser', () => {
  it("gives parseEvent's result for the encoder's events, whatever their fields", () => {
    const u = seededRandom(7);
    const parser = new EventParser();
    const encoders = endpoints.map((e) => new EventEncoder(e));
    for (let i = 0; i < 3000; i++) {
      const enc = encoders[Math.floor(u() * encoders.length)]!;
      const rows = 1 + Math.floor(u() * 3);
      const args: EventArgs = {
        start: { ns: 0n, ms: T + Math.floor(u() * 5000) + Math.round(u() * 1000) / 1000 },
        latencyUs: Math.floor(u() * 5000),
        requestId: u() < 0.1 ? `r"${i}` : `r${i}`,
        inputs: Array.from({ length: rows }, () => [Math.round(u() * 1e4) / 100, u() < 0.1 ? null : u()]),
        outputs: u() < 0.2 ? undefined : Array.from({ length: rows }, () => (u() < 0.5 ? u() : [u(), 1])),
      };
      if (u() < 0.1) args.featureNames = ['c', 'd'];
      if (u() < 0.05) args.metrics = { m: u() };
      if (u() < 0.05) args.error = 'boom';
      const raw = enc.encode(args);
      same(parser, raw);
      // The event text as JSON.stringify of the object would write it, too.
      same(parser, JSON.stringify(JSON.parse(raw)));
    }
  });

  it('parses whole (and alike) whatever is not laid out as the encoder lays it out', () => {
    const parser = new EventParser();
    const enc = new EventEncoder(endpoints[0]!);
    const good = enc.encode({ start: { ns: 0n, ms: T }, latencyUs: 5, requestId: 'r', inputs: [[1, 2]], outputs: [3] });
    same(parser, good);
    same(parser, good); // head and tail now known
    const head = good.slice(0, good.indexOf(',"when":"'));
    const tail = good.slice(good.indexOf(',"featureNames"'));
    const texts = [
      // Middles that are not members of an object on their own.
      `${head},"when":"2026-11-26T12:00:01.234000Z"${tail}`.replace(',"featureNames"', ',,"featureNames"'),
      `${head},"when":"x","latencyUs":1,"request":{"id":"r","inputs":[[1]]},"response":{"outputs":[1]},"q":"${tail}`,
      `${head},"when":"2026-11-26T12:00:01.234000Z","latencyUs":1,"request":{"id":"r","inputs":[[1]]}}`,
      // Repeated keys: the last one wins, as in JSON.parse of the whole text.
      `${head},"when":"2026-11-26T12:00:01.234000Z","project":"other","latencyUs":1,"request":{"id":"r","inputs":[[1]]},"featureNames":["z"]${tail}`,
      `${head},"when":"2026-11-26T12:00:01.234000Z","latencyUs":1,"__proto__":{"polluted":true},"request":{"id":"r","inputs":[[1]]}${tail}`,
      // Heads that are not the JSON of their fields, or hold objects.
      good.replace('{"v":1,', '{"v":1.0,'),
      good.replace('{"v":1,', '{ "v":1,'),
      good.replace('{"v":1,', '{"v":{"x":1},'),
      good.replace('{"v":1,', '{"__proto__":1,"v":1,'),
      // Not JSON at all, or not an object.
      good.slice(0, -1),
      '[1,"when":"x"]',
      'null',
      '',
      // A tail that stops matching: another feature order, then the first again.
      good.replace('["a","b"]', '["b","a"]'),
      good,
      // Odd times: out of range, other precisions, no zone.
      good.replace('2026-11-26T12:00:01.234000Z', '2026-11-26T12:00:60.000000Z'),
      good.replace('2026-11-26T12:00:01.234000Z', '2026-02-30T12:00:01.234000Z'),
      good.replace('2026-11-26T12:00:01.234000Z', '2026-11-26T12:00:01.2340Z'),
      good.replace('2026-11-26T12:00:01.234000Z', '2026-11-26T12:00:01.23400xZ'),
      good.replace('2026-11-26T12:00:01.234000Z', '2026-11-26T12:00:01.234000+'),
      good.replace('2026-11-26T12:00:01.234000Z', '2026-11-26 12:00:01.234000Z'),
    ];
    for (const raw of texts) same(parser, raw);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  it("reads the encoder's events by position once their endpoint is known, with the row texts rowTexts cuts out", () => {
    const u = seededRandom(3);
    const parser = new EventParser();
    const enc = new EventEncoder(endpoints[0]!);
    let byPosition = 0;
    for (let i = 0; i < 500; i++) {
      const rows = 1 + Math.floor(u() * 3);
      const raw = enc.encode({
        start: { ns: 0n, ms: T + i },
        latencyUs: Math.floor(u() * 5000),
        requestId: `r${i}`,
        inputs: Array.from({ length: rows }, () => [u() * 100, u() < 0.2 ? null : -u()]),
        outputs: i % 5 === 0 ? undefined : Array.from({ length: rows }, () => (u() < 0.5 ? u() : [u(), true])),
      });
      same(parser, raw);
      parser.parse(raw);
      if (parser.lastTexts !== undefined) {
        byPosition++;
        assert.deepEqual(parser.lastTexts, rowTexts(raw, rows), raw);
      }
    }
    // Every event but the first two (which teach the parser the endpoint's head and tail).
    assert.ok(byPosition >= 498, `${byPosition} of 500 read by position`);
  });

  it('gives up reading by position, and parses as JSON.parse would, for every middle it cannot vouch for', () => {
    const parser = new EventParser();
    const enc = new EventEncoder(endpoints[0]!);
    const good = enc.encode({ start: { ns: 0n, ms: T }, latencyUs: 5, requestId: 'r', inputs: [[1, 2]], outputs: [3] });
    same(parser, good);
    same(parser, good);
    parser.parse(good);
    assert.ok(parser.lastTexts, 'the good event is read by position');
    const variants = [
      good.replace('"latencyUs":5', '"latencyUs":5.'),
      good.replace('"latencyUs":5', '"latencyUs":05'),
      good.replace('"latencyUs":5', '"latencyUs":-5'),
      good.replace('"latencyUs":5', '"latencyUs":1e400'),
      good.replace('"latencyUs":5', '"latencyUs":0x5'),
      good.replace('"latencyUs":5', '"latencyUs":null'),
      good.replace('"latencyUs":5', '"latencyUs":"5"'),
      good.replace('"latencyUs":5', '"latencyUs":-0'),
      good.replace('"id":"r"', '"id":"r\\nx"'),
      good.replace('"id":"r"', '"id":"r\nx"'), // a raw control character: not JSON
      good.replace('"id":"r"', '"id":"r"x"'),
      good.replace('"id":"r"', '"id":"r\\"x"'),
      good.replace('"id":"r"', '"id":7'),
      good.replace('T12:00:01.234000Z', 'T12:00:01.234000\\u005a'),
      good.replace('[[1,2]]', '[]'),
      good.replace('[[1,2]]', '[[1,2],[3]]'),
      good.replace('[[1,2]]', '[[1,,2]]'),
      good.replace('[[1,2]]', '[[1, 2]]'),
      good.replace('[[1,2]]', '[[1,2]] '),
      good.replace('[[1,2]]', '[1,2]'),
      good.replace('[[1,2]]', '[["a",2]]'),
      good.replace('[[1,2]]', '[[[1],2]]'),
      good.replace('"outputs":[3]', '"outputs":[]'),
      good.replace('"outputs":[3]', '"outputs":[3,4]'),
      good.replace('"outputs":[3]', '"outputs":[[3,4]]'),
      good.replace('"outputs":[3]', '"outputs":["x"]'),
      good.replace('"outputs":[3]', '"outputs":[3],"extra":1'),
      good.replace('"outputs":[3]}', '"outputs":[3]},"error":"boom"'),
      good.replace(',"response":{"outputs":[3]}', ''),
      good.replace(',"response":{"outputs":[3]}', ',"response":null'),
      good.replace('"request":{"id":"r",', '"request":{"id":"r","x":1,'),
    ];
    for (const raw of variants) {
      same(parser, raw);
      parser.parse(raw);
      if (parser.lastTexts !== undefined) {
        const parsed = parseEvent(raw);
        assert.ok(parsed.ok, `read by position but not a good event: ${raw}`);
        assert.deepEqual(parser.lastTexts, rowTexts(raw, parsed.event.request.inputs.length), raw);
      }
    }
  });

  it('reads `when` as Date.parse does', () => {
    const u = seededRandom(11);
    const parser = new EventParser();
    const enc = new EventEncoder(endpoints[1]!);
    for (let i = 0; i < 2000; i++) {
      const ms = Date.UTC(1990 + Math.floor(u() * 80), 0, 1) + Math.floor(u() * 366 * 86_400_000) + Math.round(u() * 1000) / 1000;
      const raw = enc.encode({ start: { ns: 0n, ms }, latencyUs: 1, requestId: 'r', inputs: [[1]] });
      const parsed = parser.parse(raw);
      assert.ok(parsed.ok);
      assert.equal(parsed.time, Date.parse(parsed.event.when), parsed.event.when);
    }
  });
});

describe('event limits', () => {
  const L = EVENT_LIMITS;
  const x = (n: number, c = 'x'): string => c.repeat(n);
  const base: EndpointInfo = { endpointId: 'e1', project: 'p', function: 'f', model: 'm', version: '1', tag: 't', modelUri: 'store://models/p/m:latest', featureNames: ['a', 'b'], labelNames: ['y'], labels: { team: 'a' } };
  const args = (over: Partial<EventArgs> = {}): EventArgs => ({ start: { ns: 0n, ms: T }, latencyUs: 5, requestId: 'r', inputs: [[1, 2]], outputs: [3], ...over });

  /** The event of `info` and `a` refused (`problem` matching what it says) or taken, alike on both paths, the second time by position where it can be. */
  function check(info: EndpointInfo, a: EventArgs, problem: RegExp | undefined): void {
    const parser = new EventParser();
    const raw = new EventEncoder(info).encode(a);
    // Twice: the second time the head and tail are known and the event is read by position.
    for (let i = 0; i < 2; i++) {
      const got = parser.parse(raw);
      assert.deepEqual(got, parseEvent(raw));
      if (problem === undefined) assert.ok(got.ok, `refused: ${got.ok ? '' : got.error}`);
      else {
        assert.ok(!got.ok, `taken, where ${problem} was expected`);
        assert.match(got.error, problem);
      }
    }
  }

  it('takes every id and name up to its column size, and refuses one character more, on both paths', () => {
    const cases: [keyof EndpointInfo, number][] = [
      ['endpointId', L.endpointIdChars],
      ['project', L.projectChars],
      ['function', L.functionChars],
      ['model', L.modelChars],
      ['version', L.versionChars],
      ['tag', L.tagChars],
      ['modelUri', L.modelUriChars],
    ];
    for (const [key, max] of cases) {
      // The endpoint's name is model:version: the model's own limit is checked without a version.
      const info = key === 'model' ? { ...base, version: undefined } : base;
      check({ ...info, [key]: x(max) }, args(), undefined);
      check({ ...info, [key]: x(max + 1) }, args(), new RegExp(`event ${key} is longer than ${max} characters`));
      // Characters, not UTF-16 units: astral characters count once, as PostgreSQL and MySQL count them.
      check({ ...info, [key]: x(max, '😀') }, args(), undefined);
      check({ ...info, [key]: `${x(max - 1)}\u0000` }, args(), new RegExp(`event ${key} holds a NUL character`));
    }
    check({ ...base, model: x(200), version: x(54) }, args(), undefined);
    check({ ...base, model: x(200), version: x(55) }, args(), /model and version make an endpoint name longer than 255/);
    check(base, args({ requestId: x(L.requestIdChars) }), undefined);
    check(base, args({ requestId: x(L.requestIdChars, 'é') }), undefined);
    check(base, args({ requestId: x(L.requestIdChars + 1) }), /request\.id is longer than 255 characters/);
    check(base, args({ requestId: x(300, '😀') }), /request\.id is longer than 255 characters/);
    check(base, args({ requestId: 'a\u0000b' }), /request\.id holds a NUL character/);
    check({ ...base, featureNames: ['a', x(L.featureNameChars)] }, args(), undefined);
    check({ ...base, featureNames: ['a', x(L.featureNameChars + 1)] }, args(), /featureNames\[1\] is longer than 255/);
    check({ ...base, labelNames: [x(L.featureNameChars + 1)] }, args(), /labelNames\[0\] is longer than 255/);
    check({ ...base, featureNames: ['a', 'b\u0000'] }, args(), /featureNames\[1\] holds a NUL character/);
  });

  it('refuses more rows, values, names and labels than the limits, and texts beyond them', () => {
    const wide = Array.from({ length: L.featuresPerRow }, (_, i) => i);
    check(base, args({ inputs: [wide], outputs: [1] }), undefined);
    check(base, args({ inputs: [[...wide, 1]], outputs: [1] }), new RegExp(`inputs\\[0\\] has ${L.featuresPerRow + 1} values, more than ${L.featuresPerRow}`));
    const names = wide.map((i) => `f${i}`);
    check({ ...base, featureNames: names }, args(), undefined);
    check({ ...base, featureNames: [...names, 'z'] }, args(), new RegExp(`featureNames has ${L.featuresPerRow + 1} names`));
    const rows = Array.from({ length: L.rowsPerEvent }, () => [1]);
    check(base, args({ inputs: rows, outputs: undefined }), undefined);
    check(base, args({ inputs: [...rows, [1]], outputs: undefined }), new RegExp(`has ${L.rowsPerEvent + 1} rows, more than ${L.rowsPerEvent}`));
    const labels = Object.fromEntries(Array.from({ length: L.labels }, (_, i) => [`k${i}`, 'v']));
    check({ ...base, labels }, args(), undefined);
    check({ ...base, labels: { ...labels, one: 'more' } }, args(), new RegExp(`more than ${L.labels} labels`));
    check({ ...base, labels: { [x(L.labelKeyChars + 1)]: 'v' } }, args(), /label key is longer than 255/);
    check({ ...base, labels: { k: x(L.labelValueChars + 1) } }, args(), /label "k" is longer than 4096/);
    check(base, args({ error: x(L.errorChars), inputs: [] }), undefined);
    check(base, args({ error: x(L.errorChars + 1), inputs: [] }), new RegExp(`error is longer than ${L.errorChars}`));
    // A piece of a request tracked as several events: its rows are rows of that request.
    check(base, args({ firstRow: 0 }), undefined);
    check(base, args({ firstRow: L.rowsPerEvent - 1 }), undefined);
    check(base, args({ firstRow: L.rowsPerEvent - 1, inputs: [[1, 2], [3, 4]], outputs: [3, 7] }), new RegExp(`firstRow ${L.rowsPerEvent - 1} puts its rows past row ${L.rowsPerEvent}`));
    for (const bad of [-1, 1.5, Number.NaN]) check(base, args({ firstRow: bad }), /request\.firstRow must be a non-negative integer/);
    check(base, args({ latencyUs: Number.MAX_SAFE_INTEGER }), undefined);
    check(base, args({ latencyUs: 2 ** 60 }), /latencyUs must be at most/);
    // The whole text: one long string value brings the event past the limit.
    const raw = new EventEncoder(base).encode(args({ inputs: [['s']] }));
    const filler = x(L.eventChars - raw.length + 1);
    check(base, args({ inputs: [[`s${filler.slice(1)}`]] }), undefined);
    check(base, args({ inputs: [[`s${filler}`]] }), new RegExp(`event text is ${L.eventChars + 1} characters, more than ${L.eventChars}`));
  });

  it('takes request ids of lone surrogates and control characters other than NUL, and refuses names of lone surrogates', () => {
    check(base, args({ requestId: '\ud800' }), undefined);
    check(base, args({ requestId: 'tab\there\u001b[31m' }), undefined);
    check({ ...base, endpointId: 'é\udfff' }, args(), /endpointId is not well-formed Unicode/);
    check({ ...base, model: '\ud800x' }, args(), /model is not well-formed Unicode/);
    check({ ...base, featureNames: ['a', '\udc00'] }, args(), /featureNames\[1\] is not well-formed Unicode/);
    // A pair is one character, not two lone halves.
    check({ ...base, model: '😀' }, args(), undefined);
  });
});
