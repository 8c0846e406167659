/**
 * Command-line options of `npm run bench` (bench/gateway.bench.ts). Pure: argv in,
 * options out; bad input throws BenchUsageError (code EGW_BENCH_USAGE).
 */

export interface GatewayBenchOptions {
  quick: boolean;
  /** Length of each iperf3 run, whole seconds (iperf3 3.12 reads -t as an integer). */
  seconds: number;
  /** Echo requests per path, and the gap between them. */
  pings: number;
  pingIntervalMs: number;
  help: boolean;
}

export class BenchUsageError extends Error {
  readonly code = 'EGW_BENCH_USAGE';
  override name = 'BenchUsageError';
}

export const gatewayBenchUsage = `usage: npm run bench -- [--quick] [--seconds N] [--pings N]

Builds a namespace lab (1 gateway, 1 worker, 2 pods), measures the kernel path (nftables
masquerade on gw1) and then egressgw (a real agent on gw1, VirtualIPAddress mode) with
iperf3 TCP (1 and 4 streams), iperf3 UDP 64-byte packets and ping, and writes
bench/results/latest.json and latest.svg.

  --quick       2 s per iperf3 run instead of 5 (finishes in under a minute)
  --seconds N   seconds per iperf3 run (1-60)
  --pings N     echo requests per path, 10 ms apart, then as many 1 ms apart
                (10-10000, default 200)
  --help        this text
`;

function integer(flag: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || value < min || value > max) {
    throw new BenchUsageError(
      `${flag} needs a whole number ${min}-${max}, got ${text ?? 'nothing'}`,
    );
  }
  return value;
}

export function parseGatewayBenchArgs(argv: readonly string[]): GatewayBenchOptions {
  let quick = false;
  let help = false;
  let seconds: number | undefined;
  let pings = 200;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--seconds') seconds = integer(arg, argv[++i], 1, 60);
    else if (arg === '--pings') pings = integer(arg, argv[++i], 10, 10_000);
    else throw new BenchUsageError(`unknown argument ${arg}`);
  }
  return { quick, seconds: seconds ?? (quick ? 2 : 5), pings, pingIntervalMs: 10, help };
}
