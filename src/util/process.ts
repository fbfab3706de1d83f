/**
 * Process identity: a pid alone is reused by the system, so a process is named by its pid and
 * its start time (Linux: field 22 of /proc/PID/stat, clock ticks since boot). Where /proc is
 * missing, the start time is unknown and only liveness can be checked. And priority: background
 * work yields the cores to the thread that answers requests.
 */
import fs from 'node:fs';
import os from 'node:os';

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

/** How much lower than the server's the CPU priority of background work is (nice value added). */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the CPU priority of process `pid` (its nice value raised by `by`, at most 19), so that
 * work which can wait (a job's runner, a submission's checks) yields the cores to the thread
 * answering requests when both want them. `pid` 0 is the calling thread: on Linux a nice value
 * belongs to a thread (setpriority(2), NOTES), and threads started later inherit it; elsewhere
 * it would be the whole process, so there it does nothing. Returns whether the priority was
 * lowered; never throws (a process already gone, a platform without priorities: false).
 */
export function lowerPriority(pid: number, by = BACKGROUND_NICE): boolean {
  if (pid === 0 && process.platform !== 'linux') return false;
  try {
    os.setPriority(pid, Math.min(19, os.getPriority(pid) + by));
    return true;
  } catch {
    return false;
  }
}
