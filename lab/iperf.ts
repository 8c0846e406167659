/**
 * iperf3 client runs: arguments and parsers for its -J report.
 * iperf3 3.12 reads -t as whole seconds (a fraction becomes 0, which means "forever"),
 * so durations are integers here.
 */

import { LabError, parseToolJson } from './errors.ts';

export interface IperfCommon {
  /** Test length in whole seconds. Default 1. */
  seconds?: number;
  /** Parallel streams (-P). Default 1. */
  streams?: number;
  /** Server sends, client receives (-R). Default false. */
  reverse?: boolean;
}

export interface IperfTcpResult {
  seconds: number;
  sentBitsPerSecond: number;
  receivedBitsPerSecond: number;
  retransmits: number;
}

export interface IperfUdpOptions extends IperfCommon {
  /** UDP payload bytes per datagram (-l). Default 64. */
  lengthBytes?: number;
  /** Target rate (-b); 0 means as fast as the sender can. Default 0. */
  bitsPerSecond?: number;
}

export interface IperfUdpResult {
  seconds: number;
  sentPackets: number;
  lostPackets: number;
  sentPacketsPerSecond: number;
  receivedPacketsPerSecond: number;
  jitterMs: number;
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LabError('EGW_LAB_BAD_SPEC', `iperf3 ${field} must be an integer ${min}-${max}`);
  }
}

function commonArgs(host: string, port: number, options: IperfCommon): string[] {
  const seconds = options.seconds ?? 1;
  const streams = options.streams ?? 1;
  checkInteger('seconds', seconds, 1, 3600);
  checkInteger('streams', streams, 1, 128);
  checkInteger('port', port, 1, 65_535);
  const argv = ['iperf3', '-c', host, '-p', String(port), '-t', String(seconds)];
  argv.push('-P', String(streams), '-J', '--connect-timeout', '3000');
  if (options.reverse === true) argv.push('-R');
  return argv;
}

export function iperfTcpArgs(host: string, port: number, options: IperfCommon = {}): string[] {
  return commonArgs(host, port, options);
}

export function iperfUdpArgs(host: string, port: number, options: IperfUdpOptions = {}): string[] {
  const lengthBytes = options.lengthBytes ?? 64;
  const bitsPerSecond = options.bitsPerSecond ?? 0;
  checkInteger('lengthBytes', lengthBytes, 16, 65_507);
  checkInteger('bitsPerSecond', bitsPerSecond, 0, Number.MAX_SAFE_INTEGER);
  return [
    ...commonArgs(host, port, options),
    '-u',
    '-l',
    String(lengthBytes),
    '-b',
    String(bitsPerSecond),
  ];
}

/** Upper bound on how long a run takes, for the exec timeout. */
export function iperfDurationMs(options: IperfCommon = {}): number {
  return ((options.seconds ?? 1) + 10) * 1000;
}

type Json = Record<string, unknown>;

function report(jsonText: string): Json {
  const parsed = parseToolJson(jsonText, 'iperf3 -J');
  if (typeof parsed !== 'object' || parsed === null) {
    throw new LabError('EGW_LAB_BAD_OUTPUT', 'iperf3 -J output is not an object');
  }
  const root = parsed as Json;
  if (typeof root['error'] === 'string') {
    throw new LabError('EGW_LAB_COMMAND_FAILED', `iperf3: ${root['error']}`);
  }
  return root;
}

function section(root: Json, ...path: string[]): Json {
  let node: unknown = root;
  for (const key of path) {
    node = typeof node === 'object' && node !== null ? (node as Json)[key] : undefined;
  }
  if (typeof node !== 'object' || node === null) {
    throw new LabError('EGW_LAB_BAD_OUTPUT', `iperf3 report has no ${path.join('.')}`);
  }
  return node as Json;
}

function numberAt(object: Json, key: string, where: string): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new LabError('EGW_LAB_BAD_OUTPUT', `iperf3 report has no number ${where}.${key}`);
  }
  return value;
}

export function parseIperfTcp(jsonText: string): IperfTcpResult {
  const root = report(jsonText);
  const sent = section(root, 'end', 'sum_sent');
  const received = section(root, 'end', 'sum_received');
  return {
    seconds: numberAt(sent, 'seconds', 'sum_sent'),
    sentBitsPerSecond: numberAt(sent, 'bits_per_second', 'sum_sent'),
    receivedBitsPerSecond: numberAt(received, 'bits_per_second', 'sum_received'),
    retransmits: typeof sent['retransmits'] === 'number' ? sent['retransmits'] : 0,
  };
}

export function parseIperfUdp(jsonText: string): IperfUdpResult {
  const root = report(jsonText);
  // end.sum is the receiver's view: packets counts every sequence number, lost included.
  const sum = section(root, 'end', 'sum');
  const seconds = numberAt(sum, 'seconds', 'sum');
  const sentPackets = numberAt(sum, 'packets', 'sum');
  const lostPackets = numberAt(sum, 'lost_packets', 'sum');
  if (seconds <= 0) throw new LabError('EGW_LAB_BAD_OUTPUT', 'iperf3 report lasted 0 seconds');
  return {
    seconds,
    sentPackets,
    lostPackets,
    sentPacketsPerSecond: sentPackets / seconds,
    receivedPacketsPerSecond: (sentPackets - lostPackets) / seconds,
    jitterMs: numberAt(sum, 'jitter_ms', 'sum'),
  };
}
