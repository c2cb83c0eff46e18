import { describe, it } from 'node:test';
import { runMisbehavingAppsEmbedded, runMisbehavingAppsProcess } from '../e2e/misbehaving-apps-runs.ts';
import type { Scenario } from '../e2e/misbehaving-apps.ts';

/*
 * The long variant of test/e2e/misbehaving-apps.test.ts: 3 endpoints × 10 windows, so that the
 * endless loop times out 30 times (its thread started again each time) and the leaking app, which
 * keeps 24 MB more every run under a 64 MB limit, tries to keep about 700 MB in all and is stopped
 * at its limit about every third window: the process still holds well under that, and every good
 * window is analyzed.
 */

const LONG: Scenario = { endpoints: 3, windows: 10, rowsPerWindow: 60, loopTimeoutSeconds: 60, loopRedeployTimeoutSeconds: 2, leakLimitMb: 64, leakMbPerRun: 24 };

describe('misbehaving apps beside good ones, 30 windows each', () => {
  it('embedded', { timeout: 600_000 }, (t) => runMisbehavingAppsEmbedded(t, LONG, { maxPeakMb: 900 }));
  it('in `modelwatch worker --role apps` processes', { timeout: 600_000 }, (t) => runMisbehavingAppsProcess(t, LONG, { maxPeakMb: 700 }));
});
