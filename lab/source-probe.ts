/**
 * The probe: run inside a pod namespace, it asks the outside server which source address
 * it sees, over TCP or UDP, and prints one JSON line per attempt (outside-protocol.ts).
 *
 *   node lab/source-probe.ts --transport tcp|udp --host 203.0.113.10 --port 7777
 *        [--count 1] [--interval-ms 100] [--timeout-ms 1000]
 *
 * --count 0 repeats until killed (failover tests follow the answers over time). Every
 * attempt uses a new connection or socket, so a new flow. Exit status 0 when every
 * attempt got an answer, 1 otherwise.
 */

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { type ProbeReport, parseSourceLine } from './outside-protocol.ts';

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'tcp' },
    host: { type: 'string' },
    port: { type: 'string', default: '7777' },
    count: { type: 'string', default: '1' },
    'interval-ms': { type: 'string', default: '100' },
    'timeout-ms': { type: 'string', default: '1000' },
  },
});

function usage(message: string): never {
  process.stderr.write(`source-probe: ${message}\n`);
  process.exit(2);
}

function integer(name: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) usage(`bad --${name} ${text}`);
  return value;
}

const transport: 'tcp' | 'udp' =
  values.transport === 'tcp' || values.transport === 'udp'
    ? values.transport
    : usage('--transport must be tcp or udp');
const host = values.host ?? usage('--host is required');
const port = integer('port', values.port, 1, 65_535);
const count = integer('count', values.count, 0, 1_000_000);
const intervalMs = integer('interval-ms', values['interval-ms'], 0, 60_000);
const timeoutMs = integer('timeout-ms', values['timeout-ms'], 1, 60_000);

function askTcp(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve(text);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function askUdp(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.on('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message.toString('utf8'));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.send('?\n', port, host);
  });
}

async function attempt(): Promise<ProbeReport> {
  const started = performance.now();
  try {
    const text = await (transport === 'tcp' ? askTcp() : askUdp());
    const source = parseSourceLine(text);
    return { ok: true, transport, source, rttMs: performance.now() - started };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, transport, error: code ?? (error as Error).message };
  }
}

let failures = 0;
for (let done = 0; count === 0 || done < count; done++) {
  if (done > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
  const report = await attempt();
  if (!report.ok) failures += 1;
  const line = report.ok
    ? { ...report, source: `${report.source.ip}:${report.source.port}` }
    : report;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
process.exitCode = failures === 0 ? 0 : 1;
