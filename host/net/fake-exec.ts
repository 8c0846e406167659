import type { Exec, ExecOptions } from './exec.ts';

/**
 * A stand-in for exec() in unit tests: answers each command from a handler and records
 * what ran (argv and stdin), so reconcilers can be driven with recorded `ip -j` and
 * `nft -j` output and their writes checked without a kernel.
 */
export interface RecordedCall {
  argv: string[];
  input: string | undefined;
}

export type FakeAnswer = string | Error;

export function fakeExec(answer: (argv: readonly string[]) => FakeAnswer): {
  exec: Exec;
  calls: RecordedCall[];
} {
  const calls: RecordedCall[] = [];
  const exec: Exec = async (argv, options: ExecOptions = {}) => {
    calls.push({ argv: [...argv], input: options.input });
    const result = answer(argv);
    if (result instanceof Error) throw result;
    return { stdout: result, stderr: '' };
  };
  return { exec, calls };
}
