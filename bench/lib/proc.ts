import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every usual platform. */
const MICROS_PER_TICK = 10_000;

/**
 * CPU time used so far by every `postgres` process on this host, in microseconds, or undefined
 * where /proc is not available. The postmaster's "children" fields hold the time of backends
 * that already exited, so a backend that ends between two readings is still counted.
 * It includes whatever other clients of the same server do meanwhile.
 */
export function postgresCpuMicros(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      // The process ended between the listing and the read.
      continue;
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
    // Fields after "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const fields = stat.slice(close + 2).split(' ');
    for (const index of [11, 12, 13, 14]) ticks += Number(fields[index] ?? 0);
  }
  return ticks * MICROS_PER_TICK;
}

/**
 * CPU time of the calling thread (the main thread, where it is called from) in microseconds,
 * from the scheduler's own accounting; undefined where /proc is not there. process.cpuUsage()
 * counts every thread, and a writer thread's commits are not the event loop's.
 */
export function mainThreadMicros(): number | undefined {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1000 : undefined;
  } catch {
    return undefined;
  }
}
