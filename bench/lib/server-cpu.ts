import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/*
 * CPU time of the servers a benchmark talks to (MariaDB, PostgreSQL, NATS) when they run on this
 * machine: on two cores they share the CPU with the pipeline, so what they spend per event is part
 * of the story of an ingest rate. Read from Linux's /proc (user + system time of every process of
 * that name, with the times of their exited children: PostgreSQL's closed backends); undefined elsewhere.
 */

/** The process names of each server, as /proc/PID/comm shows them. */
export const SERVER_PROCESSES = { mariadb: ['mariadbd', 'mysqld'], postgres: ['postgres'], nats: ['nats-server'] } as const;
export type ServerName = keyof typeof SERVER_PROCESSES;

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds used so far by each server's processes (0 when none runs here); undefined off Linux. */
export function serverCpuSeconds(): Record<ServerName, number> | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const out: Record<ServerName, number> = { mariadb: 0, postgres: 0, nats: 0 };
  const byComm = new Map<string, ServerName>();
  for (const [server, names] of Object.entries(SERVER_PROCESSES) as [ServerName, readonly string[]][]) for (const c of names) byComm.set(c, server);
  const tck = clockTicks();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm is in parentheses and may hold spaces; the fields after it are space-separated.
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      const server = byComm.get(stat.slice(open + 1, close));
      if (!server) continue;
      const fields = stat.slice(close + 2).split(' ');
      // utime, stime, cutime and cstime are fields 14–17 of the line, 12–15 after the comm. The
      // children's times count what PostgreSQL's exited backends used (a connection closed within
      // the measured span): a backend's own times leave /proc with it, and reach its postmaster's
      // cutime/cstime once reaped.
      out[server] += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / tck;
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

/** CPU seconds each server used between two readings. */
export function serverCpuSince(before: Record<ServerName, number> | undefined): Record<ServerName, number> | undefined {
  const now = serverCpuSeconds();
  if (!before || !now) return undefined;
  return { mariadb: now.mariadb - before.mariadb, postgres: now.postgres - before.postgres, nats: now.nats - before.nats };
}
