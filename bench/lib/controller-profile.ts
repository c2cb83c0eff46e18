/**
 * CPU profile of a benchmark's timed section: the V8 sampling profiler that `node --cpu-prof`
 * uses, started and stopped around the section through the inspector, so setup stays out of it.
 * The `.cpuprofile` file opens in Chrome DevTools; `bench/lib/cpu-profile.ts` summarises it.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Runs `fn` under the CPU profiler and writes the profile to `file` (no profiling when `file` is undefined). */
export async function profiled<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!file) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
