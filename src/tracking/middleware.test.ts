import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/clock.ts';
import { endpointId } from '../common/ids.ts';
import type { InferenceEvent } from '../common/types.ts';
import { MemoryStream } from '../stream/memory-stream.ts';
import { trackedPredict } from './middleware.ts';
import { Tracker } from './tracker.ts';

describe('trackedPredict', () => {
  it('tracks each call as an event of the same endpoint our serving would use', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: 't' });
    const clock = new ManualClock(Date.UTC(2026, 2, 1, 12, 0, 0) + 0.25);
    const predict = trackedPredict((rows: unknown[][]) => rows.map((r) => Number(r[0]) > 0), {
      tracker,
      clock,
      project: 'shop',
      function: 'api',
      model: 'churn',
      version: 'v3',
      featureNames: ['tenure'],
      labels: { team: 'growth' },
    });
    assert.deepEqual(await predict([[1], [-1]], { requestId: 'req-1', metrics: { cost: 2 } }), [true, false]);
    await tracker.flush();
    const [msg] = stream.messages('t');
    const ev = JSON.parse(msg!.value) as InferenceEvent;
    const id = endpointId({ project: 'shop', function: 'api', model: 'churn', version: 'v3' });
    assert.equal(msg!.key, id);
    assert.equal(ev.endpointId, id);
    assert.equal(ev.when, '2026-03-01T12:00:00.000250Z');
    assert.deepEqual(ev.request, { id: 'req-1', inputs: [[1], [-1]] });
    assert.deepEqual(ev.response, { outputs: [true, false] });
    assert.deepEqual(ev.featureNames, ['tenure']);
    assert.deepEqual(ev.labels, { team: 'growth' });
    assert.deepEqual(ev.metrics, { cost: 2 });
    assert.ok(ev.latencyUs >= 0);
  });

  it('tracks a throwing predict as an error event and rethrows the same error', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: 't' });
    const boom = new Error('boom');
    const predict = trackedPredict(
      async () => {
        throw boom;
      },
      { tracker, project: 'shop', function: 'api', model: 'churn' },
    );
    await assert.rejects(predict([[1]]), (err) => err === boom);
    await tracker.flush();
    const ev = JSON.parse(stream.messages('t')[0]!.value) as InferenceEvent;
    assert.equal(ev.error, 'boom');
    assert.equal(ev.response, undefined);
  });

  it('never fails a prediction because of a broken tracker', async () => {
    const predict = trackedPredict((rows) => rows.map(() => 1), {
      tracker: {
        track: () => {
          throw new Error('tracker broke');
        },
      },
      project: 'shop',
      function: 'api',
      model: 'churn',
    });
    assert.deepEqual(await predict([[1]]), [1]);
  });
});
