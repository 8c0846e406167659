import { describe, expect, it } from 'vitest';
import type { Lab, PingResult, SeenSource } from '../lab/index.ts';
import { checkCarried } from './gateway-measure.ts';
import { BenchError, checkTranslation, useKernelPath } from './gateway-paths.ts';
import type { LinkStats } from './link-stats.ts';

// The guards that keep a misconfigured run from producing numbers, against a stub lab
// that answers the way a real one would in each situation (no namespaces needed).

interface StubAnswers {
  tcp?: string;
  udp?: string;
  icmp?: string[];
  replies?: number;
  gatewayPids?: string;
  tunExists?: boolean;
}

function stubLab(answers: StubAnswers): { lab: Lab; calls: string[] } {
  const calls: string[] = [];
  const stub = {
    netns: (name: string) => `egwlab-1-test-${name}`,
    askSource: async (_pod: string, transport: 'tcp' | 'udp'): Promise<SeenSource> => ({
      ip: (transport === 'tcp' ? answers.tcp : answers.udp) ?? '172.18.18.11',
      port: 40000,
    }),
    outsideIcmpSources: async () => answers.icmp ?? ['172.18.18.11'],
    ping: async (): Promise<PingResult> => {
      const received = answers.replies ?? 3;
      return {
        transmitted: 3,
        received,
        rttsMs: Array(received).fill(0.1),
        minMs: 0.1,
        medianMs: 0.1,
        maxMs: 0.1,
        fragmentationNeededMtu: undefined,
        errors: [],
      };
    },
    run: async (name: string, argv: string[]) => {
      calls.push(`${name}: ${argv.join(' ')}`);
      if (argv[0] === 'ip' && argv[1] === 'netns') {
        return { stdout: answers.gatewayPids ?? '', stderr: '', exitCode: 0 };
      }
      return { stdout: '', stderr: '', exitCode: answers.tunExists === true ? 0 : 1 };
    },
    enableKernelBaseline: async () => {
      calls.push('enableKernelBaseline');
      return { sourceIp: '172.18.18.11' };
    },
  };
  return { lab: stub as unknown as Lab, calls };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(BenchError);
    return (error as BenchError).code;
  }
}

describe('checkTranslation', () => {
  it('passes when TCP, UDP and ICMP all leave with the expected source', async () => {
    await expect(checkTranslation(stubLab({}).lab, '172.18.18.11')).resolves.toBeUndefined();
  });

  it.each([
    ['TCP untranslated', { tcp: '10.244.1.11' }],
    ['UDP from another address', { udp: '172.18.18.242' }],
    ['ICMP untranslated', { icmp: ['10.244.1.11'] }],
    ['ICMP from two sources', { icmp: ['10.244.1.11', '172.18.18.11'] }],
    ['no echo replies', { replies: 0 }],
  ])('refuses %s with EGW_BENCH_NOT_TRANSLATED', async (_, answers: StubAnswers) => {
    expect(await codeOf(checkTranslation(stubLab(answers).lab, '172.18.18.11'))).toBe(
      'EGW_BENCH_NOT_TRANSLATED',
    );
  });
});

describe('useKernelPath', () => {
  it('enables the baseline on a gateway with nothing running, then checks it', async () => {
    const { lab, calls } = stubLab({});
    expect(await useKernelPath(lab)).toBe('172.18.18.11');
    expect(calls).toContain('enableKernelBaseline');
  });

  it.each([
    ['a process in the gateway namespace', { gatewayPids: '4242\n' }],
    ['a TUN left on the gateway', { tunExists: true }],
  ])('refuses %s before touching anything', async (_, answers: StubAnswers) => {
    const { lab, calls } = stubLab(answers);
    expect(await codeOf(useKernelPath(lab))).toBe('EGW_BENCH_WRONG_PATH');
    expect(calls).not.toContain('enableKernelBaseline');
  });
});

describe('checkCarried', () => {
  const sent = (txBytes: number): LinkStats => ({
    rx_packets: 0,
    rx_bytes: 0,
    rx_dropped: 0,
    tx_packets: 0,
    tx_bytes: txBytes,
    tx_dropped: 0,
    txqlen: 500,
  });

  it('accepts interfaces that sent at least 90 % of what the receiver got', () => {
    expect(() =>
      checkCarried('egressgw UDP', { egw0: sent(9_000), eth1: sent(12_000) }, 10_000),
    ).not.toThrow();
  });

  it('refuses a run that bypassed one of the interfaces', () => {
    expect(() =>
      checkCarried('egressgw UDP', { egw0: sent(100), eth1: sent(12_000) }, 10_000),
    ).toThrowError(expect.objectContaining({ code: 'EGW_BENCH_TRAFFIC_ELSEWHERE' }));
  });
});
