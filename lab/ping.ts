/**
 * ping (iputils) from a namespace: arguments and a parser for its text output.
 * Exit status 1 (some replies missing) is a result, not an error; the counts say so.
 */

import { LabError } from './errors.ts';

export interface PingOptions {
  /** Echo requests to send. Default 5. */
  count?: number;
  /** Gap between requests. Default 10 ms (below 200 ms needs root, which the lab has). */
  intervalMs?: number;
  /** ICMP payload bytes (-s). Default 56. */
  payloadBytes?: number;
  /** Set DF and never fragment locally (-M do), for path-MTU checks. Default false. */
  dontFragment?: boolean;
  /** How long to wait for the last reply, in whole seconds (-W). Default 1. */
  replyTimeoutSeconds?: number;
}

export interface PingResult {
  transmitted: number;
  received: number;
  /** Round-trip times of the replies, in arrival order. */
  rttsMs: number[];
  minMs: number | undefined;
  medianMs: number | undefined;
  maxMs: number | undefined;
  /** The MTU from a "Frag needed" ICMP error or a local "message too long", if any. */
  fragmentationNeededMtu: number | undefined;
  /** Lines that report errors (ICMP errors, local errors), verbatim. */
  errors: string[];
}

function checkPositiveInteger(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new LabError('EGW_LAB_BAD_SPEC', `ping ${field} must be an integer 1-${max}`);
  }
}

export function pingArgs(destination: string, options: PingOptions = {}): string[] {
  const count = options.count ?? 5;
  const intervalMs = options.intervalMs ?? 10;
  const replyTimeout = options.replyTimeoutSeconds ?? 1;
  checkPositiveInteger('count', count, 100_000);
  checkPositiveInteger('intervalMs', intervalMs, 60_000);
  checkPositiveInteger('replyTimeoutSeconds', replyTimeout, 60);
  const argv = ['ping', '-n', '-c', String(count), '-i', String(intervalMs / 1000)];
  argv.push('-W', String(replyTimeout));
  if (options.payloadBytes !== undefined) {
    checkPositiveInteger('payloadBytes', options.payloadBytes, 65_507);
    argv.push('-s', String(options.payloadBytes));
  }
  if (options.dontFragment === true) argv.push('-M', 'do');
  argv.push(destination);
  return argv;
}

/** Upper bound on how long ping runs with these options, for the exec timeout. */
export function pingDurationMs(options: PingOptions = {}): number {
  return (
    (options.count ?? 5) * (options.intervalMs ?? 10) + (options.replyTimeoutSeconds ?? 1) * 1000
  );
}

const REPLY = /\bicmp_seq=\d+ ttl=\d+ time=([0-9.]+) ms(?! \(DUP!\))/;
const SUMMARY = /^(\d+) packets transmitted, (\d+) received/m;
const MTU = /\bmtu\s*[=:]\s*(\d+)/;
const ERROR_LINE = /^From |^ping: /;

export function parsePing(stdout: string, stderr: string): PingResult {
  const rttsMs: number[] = [];
  const errors: string[] = [];
  let fragmentationNeededMtu: number | undefined;
  for (const line of `${stdout}\n${stderr}`.split('\n')) {
    const reply = REPLY.exec(line);
    if (reply !== null) {
      rttsMs.push(Number(reply[1]));
      continue;
    }
    if (!ERROR_LINE.test(line)) continue;
    errors.push(line);
    const mtu = MTU.exec(line);
    if (mtu !== null) fragmentationNeededMtu = Number(mtu[1]);
  }
  const summary = SUMMARY.exec(stdout);
  if (summary === null && errors.length === 0) {
    throw new LabError('EGW_LAB_BAD_OUTPUT', `ping printed no statistics: ${stdout}${stderr}`);
  }
  const sorted = [...rttsMs].sort((a, b) => a - b);
  return {
    transmitted: summary === null ? 0 : Number(summary[1]),
    received: summary === null ? 0 : Number(summary[2]),
    rttsMs,
    minMs: sorted[0],
    medianMs: sorted.length === 0 ? undefined : sorted[Math.floor((sorted.length - 1) / 2)],
    maxMs: sorted.at(-1),
    fragmentationNeededMtu,
    errors,
  };
}
