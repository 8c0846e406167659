import { describe, expect, it } from 'vitest';
import { type CpuSample, cpuShares, parseMachineTicks, parseTaskStat } from './proc-cpu.ts';

describe('parseTaskStat', () => {
  it('reads comm and utime + stime, even with spaces and parentheses in comm', () => {
    const line =
      '4242 (worker (tun) 1) R 4200 4200 4200 0 -1 4194368 900 0 0 0 1500 320 0 0 20 0 9 0 123 0 0';
    expect(parseTaskStat(line)).toEqual({ name: 'worker (tun) 1', ticks: 1820, systemTicks: 320 });
  });

  it('refuses what is not a stat line', () => {
    expect(() => parseTaskStat('no parentheses here')).toThrow(RangeError);
    expect(() => parseTaskStat('1 (x) R 0')).toThrow(RangeError);
  });
});

describe('parseMachineTicks', () => {
  it('groups the aggregate cpu line', () => {
    const stat = 'cpu  100 5 40 800 10 2 30 3 0 0\ncpu0 50 2 20 400 5 1 15 1 0 0\nintr 1\n';
    expect(parseMachineTicks(stat)).toEqual({
      user: 105,
      system: 42,
      softirq: 30,
      idle: 810,
      total: 990,
    });
  });

  it('refuses /proc/stat without the aggregate line', () => {
    expect(() => parseMachineTicks('cpu0 1 2 3\n')).toThrow(RangeError);
  });
});

describe('cpuShares', () => {
  it('gives each thread its percent of one core over the window', () => {
    const machine = (user: number, system: number, softirq: number, idle: number) => ({
      user,
      system,
      softirq,
      idle,
      total: user + system + softirq + idle,
    });
    const before: CpuSample = {
      machine: machine(0, 0, 0, 0),
      processes: {
        agent: [
          { tid: 1, name: 'node', ticks: 10, systemTicks: 2 },
          { tid: 2, name: 'dataplane', ticks: 100, systemTicks: 60 },
        ],
      },
    };
    // 2 cores, 200 ticks in the window: 100 ticks per core.
    const after: CpuSample = {
      machine: machine(60, 80, 40, 20),
      processes: {
        agent: [
          { tid: 1, name: 'node', ticks: 10.5, systemTicks: 2 },
          { tid: 2, name: 'dataplane', ticks: 190, systemTicks: 130 },
          { tid: 3, name: 'late', ticks: 7, systemTicks: 7 },
        ],
        gone: [],
      },
    };
    expect(cpuShares(before, after, 2)).toEqual({
      window_ticks: 200,
      machine: { user: 30, system: 40, softirq: 20, idle: 10 },
      processes: {
        agent: {
          percent: 90.5,
          system_percent: 70,
          threads: [{ name: 'dataplane', percent: 90, system_percent: 70 }],
        },
        gone: { percent: 0, system_percent: 0, threads: [] },
      },
    });
  });
});
