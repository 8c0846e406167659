import { ConfigError } from '../config/errors.ts';
import { errorCount, loadConfig } from '../config/load-config.ts';
import { formatProblem } from '../config/problem.ts';
import { readConfigFile } from '../config/read-config-file.ts';
import { type ExitCode, exitCodes } from './exit-codes.ts';

/**
 * `egressgw validate -f FILE [--output text|json]`: checks a configuration file the way
 * the agent reads it (config/load-config.ts: schema, semantics and the cross-object
 * checks compile() makes) and prints every problem at its line and column, then a summary.
 *
 * Exit codes (exit-codes.ts): 0 when there is no error (warnings alone do not fail:
 * the agent uses an object with warnings), 1 when there is at least one error, 2 for a
 * usage mistake or a file that cannot be read.
 */

export const validateOutputs = ['text', 'json'] as const;
export type ValidateOutput = (typeof validateOutputs)[number];

export interface ValidateOptions {
  /** -f, --filename: the YAML file to check. */
  file?: string | undefined;
  /** -o, --output: `text` (default) or `json`; any other value is a usage error. */
  output?: string | undefined;
}

/** Where the command writes; process.stdout and process.stderr fit. */
export interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function usage(io: CommandIO, message: string): ExitCode {
  io.stderr.write(`egressgw validate: ${message}\n`);
  io.stderr.write('usage: egressgw validate -f FILE [--output text|json]\n');
  return exitCodes.usage;
}

export async function runValidate(options: ValidateOptions, io: CommandIO): Promise<ExitCode> {
  const output = options.output ?? 'text';
  if (!(validateOutputs as readonly string[]).includes(output)) {
    return usage(
      io,
      `--output must be one of ${validateOutputs.join(', ')}, got ${JSON.stringify(output)}`,
    );
  }
  if (options.file === undefined || options.file === '') {
    return usage(io, 'a file is required (-f FILE)');
  }
  const file = options.file;

  let text: string;
  try {
    text = await readConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`egressgw validate: ${error.message}\n`);
    return exitCodes.usage;
  }

  const load = loadConfig(text, file);
  const errors = errorCount(load.problems);
  const warnings = load.problems.length - errors;

  if (output === 'json') {
    const report = {
      file,
      valid: errors === 0,
      errors,
      warnings,
      documents: load.documents,
      objects: load.objectCount,
      problems: load.problems,
    };
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const problem of load.problems) io.stdout.write(`${formatProblem(problem)}\n`);
    const counted = `${plural(load.objectCount, 'object')} in ${plural(load.documents, 'document')}`;
    const verdict =
      load.problems.length === 0
        ? 'valid'
        : `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
    io.stdout.write(`${file}: ${verdict} (${counted})\n`);
  }
  return errors === 0 ? exitCodes.ok : exitCodes.failure;
}
