/**
 * The unix bridge: run inside a lab namespace, it accepts TCP connections there and
 * splices each one to a Unix socket path. The file system is shared by all network
 * namespaces while the networks are not, so this is how a server in the test process (an
 * in-process API server listening on a path) becomes reachable from the nodes without
 * giving the lab any network path to the root namespace.
 *
 *   node lab/unix-bridge.ts --socket /tmp/x/api.sock [--port 6443] [--host 0.0.0.0]
 *
 * Prints {"event":"listening","port":N} once listening (--port 0 picks one).
 */

import { connect, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    port: { type: 'string', default: '6443' },
    host: { type: 'string', default: '0.0.0.0' },
  },
});
const socketPath = values.socket;
const port = Number(values.port);
if (socketPath === undefined || !Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write('unix-bridge: need --socket PATH and a --port from 0 to 65535\n');
  process.exit(2);
}

function splice(a: Socket, b: Socket): void {
  // Either side failing or closing ends both: the client sees the upstream's fate.
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

const server = createServer((client) => {
  splice(client, connect(socketPath));
});
server.on('error', (error) => {
  process.stderr.write(`unix-bridge: ${error.message}\n`);
  process.exit(1);
});
server.listen({ port, host: values.host }, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: bound })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
