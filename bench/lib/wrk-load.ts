/**
 * HTTP load from wrk (https://github.com/wg/wrk; Debian: `apt-get install wrk`), a load generator
 * written in C: one thread, a fixed number of keep-alive connections, for a fixed time, the request
 * given by a small Lua script (method, body, headers). It takes about a third less CPU per request
 * than autocannon (measured by the serving benchmark: 17–21 µs against 24–34 µs), which on a 2-core
 * machine leaves more of the second core to the server's own threads (the embedded log's writer
 * thread, V8's helpers), as clients on other machines would. Run with `--latency`: its p50 and p99
 * are read from the report.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadSpec } from './http-load.ts';
import { processCpuMs } from './thread-cpu.ts';

/** What one wrk run did. */
export interface WrkSummary {
  requests: number;
  seconds: number;
  requestsPerS: number;
  /** Responses with a status outside 2xx and 3xx. */
  non2xx: number;
  /** Socket errors: connect, read, write, timeout. */
  errors: number;
  /** CPU time wrk used (user + system), where Linux tells it; the last reading, at most 250 ms before it ended. */
  cpuMs: number | undefined;
  p50Ms: number;
  p99Ms: number;
  /** wrk's own report, for an error message. */
  report: string;
}

/** The wrk found on PATH (`MODELWATCH_WRK` names another), or undefined when there is none. */
export function findWrk(): string | undefined {
  const bin = process.env.MODELWATCH_WRK ?? 'wrk';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  // wrk prints its version and usage, and exits 1, when asked for its version.
  return probe.error === undefined && /wrk/i.test(`${probe.stdout}${probe.stderr}`) ? bin : undefined;
}

/**
 * A Lua string literal of `s`: printable ASCII as it is, every other byte (and `"` and `\\`) as a
 * three-digit decimal escape, which a digit after it cannot lengthen.
 */
export function luaString(s: string): string {
  return `"${[...Buffer.from(s, 'utf8')].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`)).join('')}"`;
}

/** Writes the Lua script that makes every request of `spec` into `dir`; returns its path. */
function writeScript(spec: LoadSpec, dir: string): string {
  const lines = [`wrk.method = ${luaString(spec.method)}`];
  if (spec.body !== undefined) lines.push(`wrk.body = ${luaString(spec.body)}`);
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  const file = path.join(dir, 'wrk-request.lua');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A latency of wrk's report (`850.00us`, `1.23ms`, `2.01s`) in ms. */
function latencyMs(report: string, percentile: string): number {
  const m = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(report);
  if (!m) return Number.NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(m[1]) * scale;
}

/** Runs wrk with `spec` and reads its report. */
export function runWrk(bin: string, spec: LoadSpec, scratchDir: string): Promise<WrkSummary> {
  const script = writeScript(spec, scratchDir);
  const durationS = Math.max(1, Math.ceil(spec.durationS));
  const args = ['-t1', `-c${spec.connections}`, '--latency', `-d${durationS}s`, '--timeout', '10s', '-s', script, spec.url];
  return new Promise<WrkSummary>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let cpuMs: number | undefined;
    const sampler = setInterval(() => {
      if (child.pid !== undefined) cpuMs = processCpuMs(child.pid) ?? cpuMs;
    }, 250);
    child.on('error', (err) => {
      clearInterval(sampler);
      reject(new Error(`wrk could not be run (${bin}): ${err.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(sampler);
      const total = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
      if (code !== 0 || !total) {
        reject(new Error(`wrk exited with ${String(code)}: ${out.trim()}`));
        return;
      }
      const seconds = Number(total[2]) * (total[3] === 'ms' ? 0.001 : total[3] === 'm' ? 60 : 1);
      const requests = Number(total[1]);
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = socket ? socket.slice(1, 5).reduce((a, x) => a + Number(x), 0) : 0;
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      resolve({ requests, seconds, requestsPerS: requests / seconds, non2xx, errors, cpuMs, p50Ms: latencyMs(out, '50'), p99Ms: latencyMs(out, '99'), report: out.trim() });
    });
  });
}
