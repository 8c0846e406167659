/**
 * Run inside a pod namespace by the end-to-end suites: traffic shapes the lab's probe
 * does not make. Prints one JSON line.
 *
 *   node traffic-probe.ts concurrent-tcp HOST PORT COUNT   COUNT connections at once
 *   node traffic-probe.ts large-udp HOST PORT BYTES        one datagram of BYTES
 *   node traffic-probe.ts listen-udp PORT MS               what arrives on PORT in MS
 */

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [mode, ...args] = process.argv.slice(2);

function done(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (mode === 'concurrent-tcp') {
  const [host, port, count] = [args[0]!, Number(args[1]), Number(args[2])];
  const sources: string[] = [];
  let failed = 0;
  let pending = count;
  const finish = (): void => {
    pending--;
    if (pending === 0)
      done({ ok: count - failed, failed, distinct: new Set(sources).size, sources });
  };
  const sockets = Array.from({ length: count }, () => {
    const socket = connect({ host, port });
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('error', () => {
      failed++;
    });
    socket.on('close', () => {
      if (answer.includes('\n')) sources.push(answer.trim());
      else if (!socket.errored) failed++;
      finish();
    });
    return socket;
  });
  // Every connection is open before any closes: the gateway holds `count` flows at once.
  setTimeout(() => {
    for (const socket of sockets) socket.end();
  }, 2000);
} else if (mode === 'large-udp') {
  const [host, port, bytes] = [args[0]!, Number(args[1]), Number(args[2])];
  const socket = createSocket('udp4');
  socket.on('message', (message) => done({ ok: true, source: message.toString().trim() }));
  setTimeout(() => done({ ok: false }), 3000);
  socket.send(Buffer.alloc(bytes, 0x61), port, host);
} else if (mode === 'listen-udp') {
  const [port, ms] = [Number(args[0]), Number(args[1])];
  const socket = createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (message, from) =>
    received.push(`${from.address}:${from.port} ${message.length}`),
  );
  socket.bind(port, () => process.stdout.write('listening\n'));
  setTimeout(() => done({ received }), ms);
} else {
  process.stderr.write(`traffic-probe: unknown mode ${mode}\n`);
  process.exit(2);
}
