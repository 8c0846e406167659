import { Command } from 'commander';

/**
 * For the tests of the subcommands that run a program (bench, demo): a parent like
 * main.ts's that throws instead of exiting and prints nowhere, with the subcommand added
 * by `add` and its program replaced by one that records the arguments and returns
 * `exitCode`.
 */
export function testCli(
  add: (program: Command, run: (args: string[]) => Promise<number>) => void,
  exitCode: number,
) {
  const runs: string[][] = [];
  let output = '';
  const program = new Command()
    .name('egressgw')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        output += text;
      },
      writeErr: (text) => {
        output += text;
      },
    });
  add(program, async (args) => {
    runs.push(args);
    return exitCode;
  });
  const parse = (...argv: string[]) => program.parseAsync(argv, { from: 'user' });
  return { parse, runs, output: () => output };
}
