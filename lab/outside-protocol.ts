/**
 * What the outside server says, shared by the server, the probe and the lab:
 *  - to a TCP connection or a UDP datagram on its port: one line "<ip>:<port>\n", the
 *    source address and port it saw (the `curl ifconfig.me` of the seed);
 *  - on its stdout, one JSON line per event, for the lab to count.
 */

import { LabError } from './errors.ts';

export interface SeenSource {
  ip: string;
  port: number;
}

export type ServerEvent =
  | { event: 'listening'; port: number }
  | { event: 'tcp' | 'udp'; source: string; count: number };

export type ProbeReport =
  | { ok: true; transport: 'tcp' | 'udp'; source: SeenSource; rttMs: number }
  | { ok: false; transport: 'tcp' | 'udp'; error: string };

const SOURCE_LINE = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\n?$/;

export function formatSourceLine(ip: string, port: number): string {
  return `${ip}:${port}\n`;
}

export function parseSourceLine(text: string): SeenSource {
  const match = SOURCE_LINE.exec(text);
  if (match === null) {
    throw new LabError('EGW_LAB_BAD_OUTPUT', `not an "<ip>:<port>" line: ${JSON.stringify(text)}`);
  }
  const port = Number(match[2]);
  if (port > 65_535) throw new LabError('EGW_LAB_BAD_OUTPUT', `port out of range in ${text}`);
  return { ip: match[1]!, port };
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The event on a server stdout line, or undefined for any other line. */
export function parseServerEvent(line: string): ServerEvent | undefined {
  const value = parseJsonObject(line);
  if (value === undefined) return undefined;
  if (value['event'] === 'listening' && typeof value['port'] === 'number') {
    return { event: 'listening', port: value['port'] };
  }
  if (
    (value['event'] === 'tcp' || value['event'] === 'udp') &&
    typeof value['source'] === 'string' &&
    typeof value['count'] === 'number'
  ) {
    return { event: value['event'], source: value['source'], count: value['count'] };
  }
  return undefined;
}

/** The report on a probe stdout line, or undefined for any other line. */
export function parseProbeReport(line: string): ProbeReport | undefined {
  const value = parseJsonObject(line);
  if (value === undefined) return undefined;
  const transport = value['transport'];
  if (transport !== 'tcp' && transport !== 'udp') return undefined;
  if (value['ok'] === true && typeof value['source'] === 'string') {
    const rttMs = typeof value['rttMs'] === 'number' ? value['rttMs'] : Number.NaN;
    return { ok: true, transport, source: parseSourceLine(value['source']), rttMs };
  }
  if (value['ok'] === false && typeof value['error'] === 'string') {
    return { ok: false, transport, error: value['error'] };
  }
  return undefined;
}
