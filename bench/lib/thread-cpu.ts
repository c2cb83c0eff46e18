import { readdirSync, readFileSync } from 'node:fs';

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

/** CPU time (ms) of a process and every process below it, by pid, with each one's command line. */
export interface TreeCpu {
  byPid: Map<number, { cpuMs: number; cmdline: string }>;
}

/**
 * A reading of `rootPid`'s whole process tree from /proc (Linux): a server's worker processes
 * spend CPU that `process.cpuUsage()` of any one of them does not show.
 */
export function treeCpu(rootPid: number): TreeCpu {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  const byPid = new Map<number, { cpuMs: number; cmdline: string }>();
  for (const pid of tree) {
    const cpuMs = processCpuMs(pid);
    if (cpuMs === undefined) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\u0000').join(' ').trim();
    } catch {
      // Gone meanwhile.
    }
    byPid.set(pid, { cpuMs, cmdline });
  }
  return { byPid };
}

/**
 * CPU (ms) each process of the tree spent between two readings, summed by `label` (a process
 * that started between them counts from zero; one that ended is lost).
 */
export function treeCpuSince(before: TreeCpu, after: TreeCpu, label: (cmdline: string, pid: number) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, a] of after.byPid) {
    const k = label(a.cmdline, pid);
    out[k] = (out[k] ?? 0) + a.cpuMs - (before.byPid.get(pid)?.cpuMs ?? 0);
  }
  return out;
}
