import { describe, it } from 'node:test';
import { runMisbehavingAppsEmbedded, runMisbehavingAppsProcess } from './misbehaving-apps-runs.ts';
import type { Scenario } from './misbehaving-apps.ts';

/*
 * Misbehaving monitoring applications beside good ones, with real threads and, for `--role apps`,
 * a real worker process: an app that throws, one that never returns (a synchronous endless loop),
 * one that returns invalid output and one that keeps more memory every run. The good apps analyze
 * every window, the endless loop holds none of their windows up, each bad app gets `mm-app-failed`
 * with its own reason for each window, the process stays alive and within its memory. The long
 * variant is test/soak/misbehaving-apps.test.ts.
 */

const SHORT: Scenario = { endpoints: 2, windows: 2, rowsPerWindow: 60, loopTimeoutSeconds: 45, loopRedeployTimeoutSeconds: 1, leakLimitMb: 64, leakMbPerRun: 24 };

describe('misbehaving apps beside good ones', () => {
  it('embedded: each app in its own thread', { timeout: 180_000 }, (t) => runMisbehavingAppsEmbedded(t, SHORT, { maxPeakMb: 900 }));

  it('in one `modelwatch worker --role apps` process, which SIGTERM stops at once with an endless loop running', { timeout: 240_000 }, (t) =>
    runMisbehavingAppsProcess(t, SHORT, { maxPeakMb: 700 }),
  );
});
