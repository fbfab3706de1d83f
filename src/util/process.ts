/**
 * Process identity: a pid alone is reused by the system, so a process is named by its pid and
 * its start time (Linux: field 22 of /proc/PID/stat, clock ticks since boot). Where /proc is
 * missing, the start time is unknown and only liveness can be checked.
 */
import fs from 'node:fs';

/** A process as recorded in a lock file or a job: pid and start time ("" where unknown). */
export interface ProcessIdentity {
  pid: number;
  start: string;
}

/** The start time of a live process, "" where the system does not say, undefined when it is not running. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    try {
      process.kill(pid, 0);
      return '';
    } catch {
      return undefined;
    }
  }
}

/** This process's identity. */
export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, start: processStartTime(process.pid) ?? '' };
}

/** Whether the recorded process is still the one running under that pid (never true for a reused pid). */
export function isAlive(who: ProcessIdentity): boolean {
  const start = processStartTime(who.pid);
  if (start === undefined) return false;
  return who.start === '' || start === '' || start === who.start;
}
