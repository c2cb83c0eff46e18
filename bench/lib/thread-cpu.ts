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

/**
 * CPU time (user + system, ms) of process `pid` so far, from /proc; undefined elsewhere or once it
 * has gone. Clock ticks of 10 ms (Linux's `USER_HZ` of 100).
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    // The fields after the command, which is in parentheses and may hold spaces: utime is the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
