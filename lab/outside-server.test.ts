// The outside server and the probe as programs (needs root): the lab runs them in its
// namespaces; here both sit on the loopback of one private namespace.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './exec.ts';
import { nodeScriptArgv } from './node-scripts.ts';
import { parseProbeReport, parseServerEvent } from './outside-protocol.ts';
import { OutsideServer } from './outside-service.ts';
import { LabProcess } from './process.ts';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('outside server and source probe', () => {
  let netns: string;
  let server: OutsideServer;
  let port: number;

  beforeAll(async () => {
    netns = `egwlab-${process.pid}-srvt-loopback`;
    await run(['ip', 'netns', 'add', netns]);
    await run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    const child = new LabProcess(
      'outside-server',
      netns,
      nodeScriptArgv('outside-server', ['--port', '0', '--host', '127.0.0.1']),
    );
    const line = await child.waitForLine(/"event":"listening"/);
    const event = parseServerEvent(line);
    if (event?.event !== 'listening') throw new Error(`unexpected ${line}`);
    port = event.port;
    server = new OutsideServer(child, port);
  });

  afterAll(async () => {
    await server?.process.kill();
    await run(['ip', 'netns', 'del', netns], { allowFailure: true });
  });

  async function probe(transport: 'tcp' | 'udp', count: number) {
    const result = await run(
      [
        'ip',
        'netns',
        'exec',
        netns,
        ...nodeScriptArgv('source-probe', [
          '--transport',
          transport,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--count',
          String(count),
          '--interval-ms',
          '1',
        ]),
      ],
      { allowFailure: true },
    );
    return {
      exitCode: result.exitCode,
      reports: result.stdout
        .split('\n')
        .map(parseProbeReport)
        .filter((r) => r !== undefined),
    };
  }

  it('tells a TCP client its own source address and port, and counts', async () => {
    const { exitCode, reports } = await probe('tcp', 3);
    expect(exitCode).toBe(0);
    expect(reports).toHaveLength(3);
    const ports = new Set(reports.map((report) => (report.ok ? report.source.port : 0)));
    expect(ports.size).toBe(3);
    for (const report of reports)
      expect(report).toMatchObject({ ok: true, source: { ip: '127.0.0.1' } });
    await expect.poll(() => server.counts.tcp).toBe(3);
    expect(server.seen.map((event) => event.source.port).sort()).toEqual([...ports].sort());
  });

  it('answers UDP datagrams the same way', async () => {
    const { reports } = await probe('udp', 2);
    expect(reports.map((report) => report.ok)).toEqual([true, true]);
    await expect.poll(() => server.counts.udp).toBe(2);
    expect(server.sourceIpsSince(0)).toEqual(['127.0.0.1']);
  });

  it('reports failures per attempt and exits 1', async () => {
    const result = await run(
      [
        'ip',
        'netns',
        'exec',
        netns,
        ...nodeScriptArgv('source-probe', [
          '--transport',
          'tcp',
          '--host',
          '127.0.0.1',
          '--port',
          '1',
          '--timeout-ms',
          '300',
        ]),
      ],
      { allowFailure: true },
    );
    expect(result.exitCode).toBe(1);
    expect(parseProbeReport(result.stdout.trim())).toEqual({
      ok: false,
      transport: 'tcp',
      error: 'ECONNREFUSED',
    });
  });

  it('refuses bad arguments', async () => {
    const result = await run(
      [...nodeScriptArgv('source-probe', ['--transport', 'sctp', '--host', 'x'])],
      { allowFailure: true },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--transport must be tcp or udp/);
  });
});
