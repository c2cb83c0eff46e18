import { readFileSync } from 'node:fs';

/**
 * CPU time of this process's main thread so far (ms), from Linux's per-thread schedstat; undefined
 * elsewhere. `process.cpuUsage()` counts every thread, and the embedded log's writer thread runs
 * beside the event loop: this is the event loop's own share.
 */
export function mainThreadCpuMs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}
