import type { Command } from 'commander';
import { demoProgram, type ProgramRunner, runLabProgram } from './lab-program.ts';

/**
 * `egressgw demo`: `npm run demo` (demo/run.ts) from the CLI. The demo takes no options:
 * it always shows both modes and one failover, and removes everything it built.
 */
export function addDemoCommand(
  parent: Command,
  run: ProgramRunner = (args) => runLabProgram(demoProgram, args),
): Command {
  return parent
    .command('demo')
    .summary('both modes and a failover in a namespace cluster (root, source checkout)')
    .description(
      'a namespace cluster with real agents: a pod leaving through the gateway in both modes ' +
        'and a measured failover, then cleanup, in about 15 s (root, source checkout; npm run demo)',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 the demo failed, 2 bad flags, 3 not a source checkout\n' +
        '(no demo/ or built core) or no Node 24, 4 not root, 128+n stopped by signal n.',
    )
    .action(async () => {
      process.exitCode = await run([]);
    });
}
