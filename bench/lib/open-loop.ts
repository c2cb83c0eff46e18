/**
 * Open-loop HTTP load from its own process: requests leave on a fixed schedule (`rate` per second)
 * whatever the server does, over a pool of `connections` (requests beyond them wait in the pool),
 * and each latency runs from the request's intended send time, so a stalled server's queue counts
 * in full (no coordinated omission). {@link runOpenLoop} forks this file for one run.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { quantile } from './http-load.ts';

/** One open-loop run. */
export interface OpenLoopSpec {
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  origin: string;
  path: string;
  body: string;
  rate: number;
  durationS: number;
  /** Sent on the same schedule before the measured part, not measured (connections up, the sender's code compiled). */
  warmupS: number;
  connections: number;
}

/** What an open-loop run measured (latencies from the intended send times). */
export interface OpenLoopSummary {
  sent: number;
  ok: number;
  failed: number;
  /** Requests still unanswered 10 s after the last was due. */
  unanswered: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** How late the sender itself got behind its schedule at worst (its own event loop's delay). */
  maxSendLagMs: number;
}

async function openLoop(spec: OpenLoopSpec): Promise<OpenLoopSummary> {
  const pool = new Pool(spec.origin, { connections: spec.connections, pipelining: 1 });
  const skipped = Math.round(spec.rate * spec.warmupS);
  const total = skipped + Math.round(spec.rate * spec.durationS);
  // Unanswered requests keep an infinite latency.
  const latencies = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  let ok = 0;
  let failed = 0;
  let done = 0;
  let maxSendLagMs = 0;
  const intervalMs = 1000 / spec.rate;
  const start = performance.now() + 50;
  let next = 0;
  const send = (i: number, due: number): void => {
    pool
      .request({ path: spec.path, method: 'POST', body: spec.body, headers: { 'content-type': 'application/json' } })
      .then(async (res) => {
        await res.body.dump();
        if (i < skipped) return;
        if (res.statusCode >= 200 && res.statusCode < 300) ok++;
        else failed++;
      })
      .catch(() => {
        if (i >= skipped) failed++;
      })
      .finally(() => {
        latencies[i] = performance.now() - due;
        done++;
      });
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        const due = start + next * intervalMs;
        if (next >= skipped) maxSendLagMs = Math.max(maxSendLagMs, now - due);
        send(next++, due);
      }
      if (next < total) setTimeout(tick, Math.max(0, Math.min(1, start + next * intervalMs - performance.now())));
      else resolve();
    };
    tick();
  });
  const until = performance.now() + 10_000;
  while (done < total && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  const sorted = latencies.subarray(skipped).sort();
  await pool.destroy();
  return {
    sent: total - skipped,
    ok,
    failed,
    unanswered: sorted.filter((x) => x === Number.POSITIVE_INFINITY).length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    p999Ms: quantile(sorted, 0.999),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    maxSendLagMs,
  };
}

const SELF = fileURLToPath(import.meta.url);

type Reply = { ok: true; summary: OpenLoopSummary } | { ok: false; error: string };

/** Runs `spec` in a process of its own (the sender must not share the server's or the parent's event loop). */
export async function runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopSummary> {
  const child = fork(SELF, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const reply = new Promise<Reply>((resolve, reject) => {
    child.once('message', (m: Reply) => resolve(m));
    child.once('exit', (code) => reject(new Error(`open-loop process exited with ${String(code)} before answering`)));
  });
  child.send(spec);
  const m = await reply;
  child.disconnect();
  await exited;
  if (!m.ok) throw new Error(`open loop: ${m.error}`);
  return m.summary;
}

if (process.argv[1] && process.argv[1] === SELF && process.send) {
  process.once('message', (spec: OpenLoopSpec) => {
    openLoop(spec).then(
      (summary) => process.send!({ ok: true, summary } satisfies Reply),
      (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
