import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import type { ModelClass } from './model.ts';
import { createServingServer, type ServingServer } from './server.ts';

/*
 * Malformed inference bodies through a real serving server and a real HTTP client. Each model below
 * checks its own contract and throws when a row breaks it, as a real model fails on what it cannot
 * score: so a bad value that got past the server's checks shows up as a 500. Bad bodies must get
 * 400 (with the place and the problem), good ones 200, and a 500 only when the model itself throws.
 */

const scalar = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const numberOrNull = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v));
const int32 = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v <= 2 ** 31 - 1;

/** Whether rows fit what a model takes; the models throw when not, the test expects 400 then. */
const CONTRACTS = {
  // Logged with a training set: temp and wind numeric, city categorical.
  weather: (rows: unknown[][]) => rows.every((r) => r.length === 3 && numberOrNull(r[0]) && numberOrNull(r[1]) && (r[2] === null || scalar(r[2]))),
  // Declares INT32 inputs and no missing values.
  counts: (rows: unknown[][]) => rows.every((r) => r.length === rows[0]!.length && r.every(int32)),
  // Declares nothing: any number, string or boolean, and null.
  open: (rows: unknown[][]) => rows.every((r) => r.length === rows[0]!.length && r.every((v) => v === null || scalar(v))),
} as const;
type ModelName = keyof typeof CONTRACTS;

function strict(name: ModelName, extra: Partial<ModelClass> = {}): ModelClass {
  return {
    ...extra,
    predict(rows) {
      if (!CONTRACTS[name](rows)) throw new TypeError(`${name} cannot score ${JSON.stringify(rows).slice(0, 80)}`);
      // A valid row the model fails on all the same: its own exception, which stays a 500.
      if (rows.some((r) => r.includes('boom'))) throw new Error('boom');
      return rows.map((r) => r.filter((v) => typeof v === 'number').reduce((a: number, b) => a + (b as number), 0));
    },
  };
}

/** A feature value: valid for some models, not for others; `HUGE` becomes 1e400 in the body's text. */
const HUGE = '__huge__';
const value = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 1.5, -0, 1e308)) },
  { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('boom', '1.5', '')) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constant(null) },
  // The model's own failure: frequent enough that a valid body holding it comes up in every run.
  { weight: 1, arbitrary: fc.constant('boom') },
  { weight: 1, arbitrary: fc.constant(HUGE) },
  { weight: 1, arbitrary: fc.oneof(fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 })) },
);
const toText = (body: unknown): string => JSON.stringify(body).replaceAll(`"${HUGE}"`, '1e400');
const parsedValue = (v: unknown): unknown => (v === HUGE ? Infinity : v);

describe('infer checks inputs against what the model takes (real HTTP, fast-check)', () => {
  let server: ServingServer;
  let base: string;
  const agent = new Agent({ connections: 4 });

  before(async () => {
    server = createServingServer({
      project: 'shop',
      functionName: 'serve',
      models: [
        { name: 'weather', model: strict('weather'), featureNames: ['temp', 'wind', 'city'], inputTypes: ['FP64', 'FP64', 'CATEGORY'] },
        { name: 'counts', model: strict('counts', { inputDatatype: 'INT32', allowsMissing: false }) },
        { name: 'open', model: strict('open') },
      ],
    });
    await server.modelsLoaded();
    base = await server.listen();
  });
  after(async () => {
    await server.close();
    await agent.close();
  });

  const post = async (model: string, text: string) => {
    const res = await request(`${base}/v2/models/${model}/infer`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' }, dispatcher: agent });
    const body = (await res.body.json()) as { error?: string; message?: string; outputs?: unknown };
    return { status: res.statusCode, body };
  };

  it('answers 1,000 generated row bodies with 200 when they fit, 400 naming the place when not, 500 only when the model throws', async () => {
    const counted = { weather: 0, counts: 0, open: 0 };
    const statuses = new Map<number, number>();
    const before = Object.fromEntries(server.stats().models.map((m) => [m.name, m.errors]));
    const rows = fc.integer({ min: 1, max: 4 }).chain((width) => fc.array(fc.array(value, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 4 }));
    const ragged = fc.array(fc.array(value, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 });
    const body = fc.record({ model: fc.constantFrom<ModelName>('weather', 'counts', 'open'), rows: fc.oneof(rows, ragged), objects: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(body, async ({ model, rows, objects }) => {
        // Row objects for the model with feature names: temp, wind, city in whatever order.
        const asObjects = objects && model === 'weather' && rows.every((r) => r.length === 3);
        const inputs = asObjects ? rows.map((r) => ({ city: r[2], temp: r[0], wind: r[1] })) : rows;
        const res = await post(model, toText({ inputs }));
        const parsed = rows.map((r) => r.map(parsedValue));
        const fitsModel = parsed.every((r) => r.length === parsed[0]!.length) && CONTRACTS[model](parsed);
        const expected = !fitsModel ? 400 : parsed.some((r) => r.includes('boom')) ? 500 : 200;
        assert.equal(res.status, expected, `${model} ${toText({ inputs })} -> ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status !== 200) counted[model]++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 400) {
          assert.equal(res.body.error, 'validation_error');
          assert.match(res.body.message ?? '', /^(inputs|rows have)/, 'the message names the place');
        }
        if (res.status === 500) assert.equal(res.body.error, 'model_error');
      }),
      { numRuns: 1000 },
    );
    assert.ok([200, 400, 500].every((s) => (statuses.get(s) ?? 0) >= 10), `every answer occurs: ${JSON.stringify([...statuses])}`);
    // Every refused or failed request is counted on its endpoint.
    for (const m of server.stats().models) assert.equal(m.errors - before[m.name]!, counted[m.name as ModelName], m.name);
  });

  it('answers 1,000 hostile bodies (any JSON, tensors of any datatype and shape, numbers beyond FP64) with 200 or 400, never 500', async () => {
    const datatype = fc.constantFrom('BOOL', 'UINT8', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'FLOAT', 7, null);
    const shape = fc.oneof(fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }), fc.constant('2x2'));
    const tensor = fc.record(
      { name: fc.constantFrom('temp', 'wind', 'city', 'x', '', 3), shape, datatype, data: fc.oneof(fc.array(value, { maxLength: 8 }), fc.array(fc.array(value, { maxLength: 3 }), { maxLength: 3 }), value) },
      { requiredKeys: ['data'] },
    );
    const body = fc.oneof(
      fc.record({ inputs: fc.array(tensor, { minLength: 1, maxLength: 3 }), id: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()) }, { requiredKeys: ['inputs'] }),
      fc.record({ inputs: fc.oneof(fc.array(fc.dictionary(fc.constantFrom('temp', 'wind', 'city', 'other'), value), { maxLength: 3 }), value) }),
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({ inputs: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }), parameters: fc.jsonValue({ maxDepth: 2 }) }),
    );
    const model = fc.constantFrom<ModelName>('weather', 'counts', 'open');
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(model, body, async (m, b) => {
        const res = await post(m, toText(b));
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        if (res.status === 500) assert.match(res.body.message ?? '', /^model '\w+' failed: boom$/, `${m} ${toText(b)} -> ${JSON.stringify(res.body)}`);
        else assert.ok(res.status === 200 || res.status === 400, `${m} ${toText(b)} -> ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 400) assert.ok((res.body.message ?? '').length > 0);
      }),
      { numRuns: 1000 },
    );
    // Mostly refused (good bodies are the first property's business), each with its reason.
    assert.ok((seen.get(400) ?? 0) > 500, JSON.stringify([...seen]));
  });

  it('shows what each feature takes in the model metadata', async () => {
    const res = await request(`${base}/v2/models/weather`, { dispatcher: agent });
    const meta = (await res.body.json()) as { inputs: { name: string; datatype: string }[] };
    assert.deepEqual(meta.inputs.map((i) => [i.name, i.datatype]), [['temp', 'FP64'], ['wind', 'FP64'], ['city', 'BYTES']]);
  });
});
