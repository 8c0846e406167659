/**
 * CPU time of processes (per thread) and of the machine, from /proc, for the gateway
 * benchmark's "where does the time go" figures (perf is not installed here). Shares are
 * taken between two samples: a thread's ticks over the machine's ticks per core, so the
 * unit (USER_HZ) cancels out.
 */

import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTicks {
  tid: number;
  /** The thread's comm (what `top -H` shows). */
  name: string;
  /** utime + stime, in USER_HZ ticks. */
  ticks: number;
  /** stime alone: time in the kernel on the thread's behalf (syscalls, and softirq work
   * done in its context when the kernel does not account that apart). */
  systemTicks: number;
}

export interface MachineTicks {
  user: number;
  system: number;
  softirq: number;
  idle: number;
  total: number;
}

/** Name and CPU ticks from a /proc/PID/task/TID/stat line. */
export function parseTaskStat(text: string): {
  name: string;
  ticks: number;
  systemTicks: number;
} {
  // comm may hold spaces and parentheses: it runs from the first '(' to the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new RangeError(`not a stat line: ${text.slice(0, 80)}`);
  // After the comm, fields start at field 3 (state); utime and stime are fields 14, 15.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new RangeError(`stat line without utime/stime: ${text.slice(0, 80)}`);
  }
  return { name: text.slice(open + 1, close), ticks: utime + stime, systemTicks: stime };
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseMachineTicks(procStat: string): MachineTicks {
  const line = procStat.split('\n').find((candidate) => candidate.startsWith('cpu '));
  if (line === undefined) throw new RangeError('/proc/stat has no aggregate cpu line');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .slice(4)
    .trim()
    .split(/\s+/)
    .map(Number);
  const values = [user, nice, system, idle, iowait, irq, softirq, steal];
  if (values.some((value) => value === undefined || !Number.isFinite(value))) {
    throw new RangeError(`unreadable /proc/stat cpu line: ${line}`);
  }
  const [u, n, s, i, w, q, sq, st] = values as number[];
  return {
    user: u! + n!,
    system: s! + q!,
    softirq: sq!,
    idle: i! + w!,
    total: u! + n! + s! + i! + w! + q! + sq! + st!,
  };
}

/** Every thread of a process now; empty once it has exited. */
export function readThreads(pid: number): ThreadTicks[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const threads: ThreadTicks[] = [];
  for (const tid of tids) {
    try {
      const stat = parseTaskStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      threads.push({ tid: Number(tid), ...stat });
    } catch {
      // The thread exited between listing and reading.
    }
  }
  return threads;
}

export function readMachine(): MachineTicks {
  return parseMachineTicks(readFileSync('/proc/stat', 'utf8'));
}

export interface CpuSample {
  machine: MachineTicks;
  /** Threads per watched process label. */
  processes: Record<string, ThreadTicks[]>;
}

export function takeSample(pids: Record<string, number>): CpuSample {
  const processes: Record<string, ThreadTicks[]> = {};
  for (const [label, pid] of Object.entries(pids)) processes[label] = readThreads(pid);
  return { machine: readMachine(), processes };
}

export interface ProcessShare {
  /** Percent of one core over the window (a 2-core machine has 200 in all). */
  percent: number;
  /** Of `percent`, how much was spent in the kernel (system time). */
  system_percent: number;
  /** Threads that used at least 1 % of a core, busiest first. */
  threads: { name: string; percent: number; system_percent: number }[];
}

export interface CpuShares {
  window_ticks: number;
  /** Percent of all cores. */
  machine: { user: number; system: number; softirq: number; idle: number };
  processes: Record<string, ProcessShare>;
}

function percentOf(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0;
}

/** Shares of the window between two samples, on a machine with `cores` cores. */
export function cpuShares(before: CpuSample, after: CpuSample, cores: number): CpuShares {
  const total = after.machine.total - before.machine.total;
  const perCore = total / cores;
  const processes: Record<string, ProcessShare> = {};
  for (const [label, threadsAfter] of Object.entries(after.processes)) {
    // A thread born inside the window counts from its first sample: nothing before it.
    const earlier = new Map((before.processes[label] ?? []).map((t) => [t.tid, t]));
    const threads = threadsAfter
      .map((thread) => {
        const first = earlier.get(thread.tid) ?? thread;
        return {
          name: thread.name,
          percent: percentOf(thread.ticks - first.ticks, perCore),
          system_percent: percentOf(thread.systemTicks - first.systemTicks, perCore),
        };
      })
      .sort((a, b) => b.percent - a.percent);
    const sum = (pick: (thread: (typeof threads)[number]) => number) =>
      Math.round(threads.reduce((total, thread) => total + pick(thread), 0) * 10) / 10;
    processes[label] = {
      percent: sum((thread) => thread.percent),
      system_percent: sum((thread) => thread.system_percent),
      threads: threads.filter((thread) => thread.percent >= 1),
    };
  }
  const delta = (key: keyof MachineTicks): number =>
    percentOf(after.machine[key] - before.machine[key], total);
  return {
    window_ticks: total,
    machine: {
      user: delta('user'),
      system: delta('system'),
      softirq: delta('softirq'),
      idle: delta('idle'),
    },
    processes,
  };
}
