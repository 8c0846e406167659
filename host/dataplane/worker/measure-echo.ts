/**
 * Measures the TUN loop's packet rate: `npx node host/dataplane/worker/measure-echo.ts`
 * (root). In a private namespace, iperf3 sends 64-byte UDP datagrams to 10.78.0.5; the
 * route puts them into a TUN, a dataplane worker with the reflecting fake core reads
 * them, swaps the addresses and writes them back, and iperf3's server on 10.77.0.1 takes
 * them. Runs once with one packet per batch (one read and one write syscall per packet,
 * a poll per packet when idle) and once with batches of 64. Prints JSON.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { withNetworkNamespace } from '../native/netns.ts';
import { TestNamespaces } from '../native/test-namespaces.ts';
import { LinuxTun } from '../tun/linux-tun.ts';
import { DataplaneWorker } from './dataplane-worker.ts';
import { reflectorEntry, reflectorSetup } from './test-reflector.ts';

const VNET = 10;
const SECONDS = Number(process.env['EGW_MEASURE_SECONDS'] ?? 3);

function run(ns: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${argv[0]} ${code}`)),
    );
  });
}

async function measure(ns: string, slots: number) {
  const tun = withNetworkNamespace(ns, () => LinuxTun.open({ name: 'egwm0', vnetHdrLen: VNET }));
  const worker = (() => {
    try {
      const ip = (...args: string[]) => namespaces.ip(ns, ...args);
      ip('link', 'set', 'egwm0', 'up', 'txqueuelen', '4096');
      ip('addr', 'add', '10.77.0.1/24', 'dev', 'egwm0');
      ip('route', 'add', '10.78.0.0/24', 'dev', 'egwm0');
      const { layout, memory, module } = reflectorSetup(slots, VNET);
      return new DataplaneWorker(
        { memory, module, layout, tun: { fd: tun.fd, name: tun.name } },
        { entry: reflectorEntry },
      );
    } catch (err) {
      tun.close();
      throw err;
    }
  })();
  try {
    await Promise.race([
      worker.ended.then((end) => {
        throw new Error(`worker ended before measuring: ${end}`);
      }),
      (async () => {
        while (worker.counters().poll_calls === 0) await sleep(5);
      })(),
    ]);
    console.error(`slots ${slots}: worker running`);
    const server = run(ns, ['iperf3', '-s', '-1', '-B', '10.77.0.1', '-p', '5401', '-J']);
    await sleep(300);
    const before = worker.counters();
    const started = performance.now();
    const client = JSON.parse(
      await run(ns, [
        'iperf3',
        ...['-c', '10.78.0.5', '-p', '5401', '-u', '-l', '64', '-b', '0'],
        ...['-t', String(SECONDS), '-J'],
      ]),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = worker.counters();
    const serverReport = JSON.parse(await server);
    const sum = serverReport.end.sum;
    const packets = after.packets_read - before.packets_read;
    return {
      slotsPerBatch: slots,
      workerPacketsPerSecond: Math.round(packets / seconds),
      readCallsPerPacket: +((after.read_calls - before.read_calls) / packets).toFixed(2),
      pollCallsPerPacket: +((after.poll_calls - before.poll_calls) / packets).toFixed(3),
      packetsPerBatch: +(packets / (after.batches - before.batches)).toFixed(2),
      iperfSentPacketsPerSecond: Math.round(client.end.sum.packets / client.end.sum.seconds),
      iperfReceivedPacketsPerSecond: Math.round((sum.packets - sum.lost_packets) / sum.seconds),
      iperfLostPercent: +sum.lost_percent.toFixed(1),
      writeErrors: after.write_errors,
    };
  } finally {
    await worker.stop().catch(() => {});
    tun.close();
  }
}

const namespaces = new TestNamespaces('msr');
try {
  const ns = namespaces.add('a');
  const results = [];
  for (const slots of [1, 64]) results.push(await measure(ns, slots));
  console.log(JSON.stringify(results, null, 2));
} finally {
  namespaces.removeAll();
}
