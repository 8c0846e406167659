import { type Command, InvalidArgumentError, Option } from 'commander';
import { benchProgram, type ProgramRunner, runLabProgram } from './lab-program.ts';

/**
 * `egressgw bench`: `npm run bench` (bench/gateway.bench.ts) from the CLI, with the
 * options that program takes. It writes its results to bench/results/ in the checkout
 * (it has no option for another place, so none is offered here).
 *
 * The ranges are the benchmark's own (bench/gateway-options.ts, which the CLI cannot
 * import: the image is built from host/ alone); a test holds the two to the same limits.
 */

export interface BenchCommandOptions {
  quick: boolean;
  seconds?: number;
  pings?: number;
}

export const benchLimits = {
  seconds: { min: 1, max: 60 },
  pings: { min: 10, max: 10_000 },
} as const;

function wholeNumber(flag: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new InvalidArgumentError(`${flag} needs a whole number ${min}-${max}, got "${text}"`);
    }
    return value;
  };
}

/** The program's arguments for the parsed options. */
export function benchArguments(options: BenchCommandOptions): string[] {
  return [
    ...(options.quick ? ['--quick'] : []),
    ...(options.seconds !== undefined ? ['--seconds', String(options.seconds)] : []),
    ...(options.pings !== undefined ? ['--pings', String(options.pings)] : []),
  ];
}

/** Adds `bench` to `parent`; `run` starts the program (tests pass a fake). */
export function addBenchCommand(
  parent: Command,
  run: ProgramRunner = (args) => runLabProgram(benchProgram, args),
): Command {
  const { seconds, pings } = benchLimits;
  return parent
    .command('bench')
    .summary('benchmark egressgw against the kernel path, and failover (root, source checkout)')
    .description(
      'measure the kernel path (nftables masquerade) and egressgw side by side in a namespace ' +
        'cluster, then failover; writes bench/results/latest.json and latest.svg (root, source ' +
        'checkout; npm run bench)',
    )
    .option('--quick', '2 s per iperf3 run instead of 5, 3 failovers instead of 5', false)
    .addOption(
      new Option(
        '--seconds <n>',
        `seconds per iperf3 run, ${seconds.min}-${seconds.max} (default: 5, or 2 with --quick)`,
      ).argParser(wholeNumber('--seconds', seconds.min, seconds.max)),
    )
    .addOption(
      new Option(
        '--pings <n>',
        `echo requests per path, 10 ms apart, then as many 1 ms apart, ${pings.min}-${pings.max} (default: 200)`,
      ).argParser(wholeNumber('--pings', pings.min, pings.max)),
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 the benchmark failed, 2 bad flags, 3 not a source checkout\n' +
        '(no bench/ or built core) or no Node 24, 4 not root, 128+n stopped by signal n.',
    )
    .action(async (options: BenchCommandOptions) => {
      process.exitCode = await run(benchArguments(options));
    });
}
