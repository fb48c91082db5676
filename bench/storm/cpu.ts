/**
 * Server-side CPU time from /proc (Linux): what PostgreSQL and PgBouncer
 * spent on the work of a run, whichever client did it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';

/** What a process spent, in clock ticks, read from /proc/<pid>/stat. */
interface ProcessTimes {
  readonly parent: number;
  /** utime + stime: the process itself. */
  readonly own: number;
  /** cutime + cstime: its children that exited and were waited for. */
  readonly reapedChildren: number;
}

let ticksPerSecond: number | undefined;

/**
 * CPU milliseconds (user and system) of `pid` and every process it forked:
 * its own time, its exited children's (which the kernel adds to the parent
 * once it waits for them, as PostgreSQL's postmaster does for each backend)
 * and its live children's. The difference of two readings is what the tree
 * spent in between, backends that came and went included.
 */
export function processTreeCpuMillis(pid: number): number {
  const root = processTimes(pid);
  if (!root) throw new Error(`no process ${pid} in /proc`);
  const liveChildren = fs.readdirSync('/proc').filter(name => /^\d+$/.test(name)).map(name => processTimes(Number(name)))
    .filter((times): times is ProcessTimes => times !== undefined && times.parent === pid);
  const ticks = root.own + root.reapedChildren + liveChildren.reduce((total, child) => total + child.own, 0);
  return (ticks * 1000) / clockTicksPerSecond();
}

function processTimes(pid: number): ProcessTimes | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // Fields after the command name (which may hold spaces): state, ppid, ..., utime (14th), stime, cutime, cstime.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { parent: fields[1], own: fields[11] + fields[12], reapedChildren: fields[13] + fields[14] };
}

function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return ticksPerSecond;
}
