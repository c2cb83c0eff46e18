/**
 * The load process of the `latency` benchmark, forked by `bench/latency.bench.ts`: sends V2 infer
 * requests at a steady rate (each with its own request id) and, for one request in `sampleEvery`,
 * measures the time from sending it to its prediction row being readable in the tsdb. Sampled
 * requests still outstanding are looked up together, one query every `pollMs`, so polling stays
 * a small, fixed cost whatever the rate. Answers one {@link LatencyLoadResult} over IPC and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { openTsdb } from '../../src/store/connect.ts';
import type { Tsdb } from '../../src/store/tsdb-port.ts';
import { quantile } from './http-load.ts';

/** What the parent asks for. */
export interface LatencyLoadSpec {
  /** Base URL of the serving function. */
  url: string;
  inferPath: string;
  tsdbUrl: string;
  project: string;
  endpointId: string;
  ratePerS: number;
  durationS: number;
  connections: number;
  sampleEvery: number;
  pollMs: number;
  /** How long to keep looking for sampled requests after the load stops. */
  drainS: number;
  features: number;
}

/** What the load process measured. */
export interface LatencyLoadResult {
  sent: number;
  ok: number;
  failed: number;
  seconds: number;
  /** Request → response, milliseconds, every successful request. */
  httpP50Ms: number;
  httpP99Ms: number;
  /** Request → prediction row readable, seconds, sampled requests found. */
  visibleS: number[];
  sampled: number;
  /** Sampled requests never seen in the tsdb within the drain time. */
  missing: number;
  polls: number;
  pollMeanMs: number;
  /** Event-loop delay of the load process itself while sending, milliseconds beyond the 10 ms sampling interval: when it is high, HTTP times include the client's own waiting. */
  clientLoopDelayP99Ms: number;
  clientLoopDelayMaxMs: number;
}

async function run(spec: LatencyLoadSpec): Promise<LatencyLoadResult> {
  const pool = new Pool(spec.url, { connections: spec.connections, pipelining: 1 });
  const tsdb: Tsdb = await openTsdb(spec.tsdbUrl);
  const outstanding = new Map<string, number>(); // request id -> send time (performance.now)
  const visible: number[] = [];
  const http: number[] = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let sampled = 0;
  let polls = 0;
  let pollMs = 0;
  let firstError: string | undefined;

  const send = (n: number): void => {
    const id = `lat-${process.pid}-${n}`;
    const x = Array.from({ length: spec.features }, (_, i) => ((n * 31 + i * 17) % 100) / 10);
    const body = JSON.stringify({ id, inputs: [{ name: 'x', shape: [1, spec.features], datatype: 'FP64', data: x }] });
    const t0 = performance.now();
    if (n % spec.sampleEvery === 0) {
      outstanding.set(id, t0);
      sampled += 1;
    }
    sent += 1;
    pool
      .request({ path: spec.inferPath, method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode === 200) {
          ok += 1;
          http.push(performance.now() - t0);
        } else {
          failed += 1;
          firstError ??= `HTTP ${res.statusCode}`;
          outstanding.delete(id);
        }
      })
      .catch((err: unknown) => {
        failed += 1;
        firstError ??= String(err);
        outstanding.delete(id);
      });
  };

  let polling = true;
  const poller = (async () => {
    while (polling || outstanding.size > 0) {
      await new Promise((r) => setTimeout(r, spec.pollMs));
      if (outstanding.size === 0) continue;
      const t0 = performance.now();
      const found = await tsdb.readPredictionsByRequest(spec.project, spec.endpointId, [...outstanding.keys()]);
      const now = performance.now();
      polls += 1;
      pollMs += now - t0;
      for (const row of found) {
        const at = outstanding.get(row.requestId);
        if (at === undefined) continue;
        visible.push((now - at) / 1000);
        outstanding.delete(row.requestId);
      }
    }
  })();

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  // Steady rate: every tick sends what the schedule says is due, so a slow tick catches up.
  const start = performance.now();
  const end = start + spec.durationS * 1000;
  let n = 0;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * spec.ratePerS);
    while (n < due) send(n++);
    await new Promise((r) => setTimeout(r, 2));
  }
  const seconds = (performance.now() - start) / 1000;
  loopDelay.disable();
  // Let responses come back, then give the pipeline `drainS` to land the last samples.
  const until = performance.now() + spec.drainS * 1000;
  while (ok + failed < sent && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  while (outstanding.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  const missing = outstanding.size;
  polling = false;
  outstanding.clear();
  await poller;
  await pool.close();
  await tsdb.close();
  if (ok === 0) throw new Error(`no request succeeded: ${firstError ?? 'no answer'}`);
  http.sort((a, b) => a - b);
  return {
    sent,
    ok,
    failed,
    seconds,
    httpP50Ms: quantile(http, 0.5),
    httpP99Ms: quantile(http, 0.99),
    visibleS: visible,
    sampled,
    missing,
    polls,
    pollMeanMs: polls > 0 ? pollMs / polls : 0,
    clientLoopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - 10),
    clientLoopDelayMaxMs: Math.max(0, loopDelay.max / 1e6 - 10),
  };
}

if (process.send) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LatencyLoadSpec;
  run(spec).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1)),
  );
}
