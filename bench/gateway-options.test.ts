import { describe, expect, it } from 'vitest';
import { BenchUsageError, parseGatewayBenchArgs } from './gateway-options.ts';

describe('parseGatewayBenchArgs', () => {
  it('defaults to 5 s runs and 200 pings, 2 s with --quick', () => {
    expect(parseGatewayBenchArgs([])).toEqual({
      quick: false,
      seconds: 5,
      pings: 200,
      pingIntervalMs: 10,
      help: false,
    });
    expect(parseGatewayBenchArgs(['--quick'])).toMatchObject({ quick: true, seconds: 2 });
  });

  it('takes explicit seconds and pings, and --help', () => {
    expect(parseGatewayBenchArgs(['--quick', '--seconds', '3', '--pings', '50'])).toMatchObject({
      quick: true,
      seconds: 3,
      pings: 50,
    });
    expect(parseGatewayBenchArgs(['-h']).help).toBe(true);
  });

  it.each([
    [['--seconds']],
    [['--seconds', '0']],
    [['--seconds', '1.5']],
    [['--seconds', '61']],
    [['--pings', 'many']],
    [['--pings', '5']],
    [['--fast']],
  ])('rejects %j with EGW_BENCH_USAGE', (argv) => {
    expect(() => parseGatewayBenchArgs(argv)).toThrow(BenchUsageError);
    try {
      parseGatewayBenchArgs(argv);
    } catch (error) {
      expect((error as BenchUsageError).code).toBe('EGW_BENCH_USAGE');
    }
  });
});
