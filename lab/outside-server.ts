/**
 * The outside server: run inside the lab's outside namespace, it answers every TCP
 * connection and every UDP datagram on one port with the source address and port it
 * saw ("<ip>:<port>\n"), and prints one JSON line per event with a running count.
 *
 *   node lab/outside-server.ts [--port 7777] [--host 0.0.0.0]
 *
 * --port 0 picks a free port; the "listening" line reports it. SIGTERM/SIGINT end it.
 */

import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { formatSourceLine, type ServerEvent } from './outside-protocol.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7777' },
    host: { type: 'string', default: '0.0.0.0' },
  },
});
const requestedPort = Number(values.port);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
  process.stderr.write(`outside-server: bad --port ${values.port}\n`);
  process.exit(2);
}

const counts = { tcp: 0, udp: 0 };

function emit(event: ServerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const tcp = createServer((socket) => {
  // A client that resets early must not take the server down.
  socket.on('error', () => {});
  const ip = socket.remoteAddress ?? '?';
  const port = socket.remotePort ?? 0;
  counts.tcp += 1;
  socket.end(formatSourceLine(ip, port));
  emit({ event: 'tcp', source: `${ip}:${port}`, count: counts.tcp });
});

const udp = createSocket('udp4');
udp.on('message', (_message, remote) => {
  counts.udp += 1;
  udp.send(formatSourceLine(remote.address, remote.port), remote.port, remote.address);
  emit({ event: 'udp', source: `${remote.address}:${remote.port}`, count: counts.udp });
});

function fail(error: Error): never {
  process.stderr.write(`outside-server: ${error.message}\n`);
  process.exit(1);
}
tcp.on('error', fail);
udp.on('error', fail);

tcp.listen({ port: requestedPort, host: values.host }, () => {
  const address = tcp.address();
  const port = typeof address === 'object' && address !== null ? address.port : requestedPort;
  // UDP on the same number, so one port answers both transports.
  udp.bind(port, values.host, () => emit({ event: 'listening', port }));
});

function stop(): void {
  tcp.close();
  udp.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
