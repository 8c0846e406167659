import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../test/support/apiserver/testing.ts';
import { exitCodes } from './exit-codes.ts';
import { formatTable, runStatus } from './status.ts';

function capture(): {
  io: { stdout: { write(t: string): void }; stderr: { write(t: string): void } };
  out: () => string;
} {
  let out = '';
  return {
    io: {
      stdout: {
        write: (t: string) => {
          out += t;
        },
      },
      stderr: {
        write: (t: string) => {
          out += t;
        },
      },
    },
    out: () => out,
  };
}

describe('egressgw status', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster.server.stop();
  });

  it('says so when there is nothing', async () => {
    const { io, out } = capture();
    expect(await runStatus(cluster.kc, io)).toBe(exitCodes.ok);
    expect(out()).toBe('no egress objects\n');
  });

  it('prints each gateway with its active node, address, nodes, connections and readiness', async () => {
    cluster.server.seed({
      apiVersion: 'network.deckhouse.io/v1alpha1',
      kind: 'EgressGateway',
      metadata: { name: 'egress-gw' },
      spec: {
        nodeSelector: {},
        sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: '172.18.18.242' } },
      },
      status: {
        activeNode: 'gw2',
        egressIP: '172.18.18.242',
        readyNodes: 2,
        connections: 1234,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Elected' }],
      },
    });
    cluster.server.seed({
      apiVersion: 'crd.antrea.io/v1beta1',
      kind: 'Egress',
      metadata: { name: 'egress-prod' },
      spec: { appliedTo: {}, externalIPPool: 'pool' },
      status: { conditions: [{ type: 'IPAllocated', status: 'False', reason: 'PoolExhausted' }] },
    });
    cluster.server.seed({
      apiVersion: 'crd.antrea.io/v1beta1',
      kind: 'Egress',
      metadata: { name: 'egress-web' },
      spec: { appliedTo: {}, egressIP: '10.10.0.104' },
      status: {
        egressIP: '10.10.0.104',
        egressNode: 'node-4',
        connections: 0,
        conditions: [{ type: 'IPAssigned', status: 'True', reason: 'Assigned' }],
      },
    });
    const { io, out } = capture();
    expect(await runStatus(cluster.kc, io)).toBe(exitCodes.ok);
    expect(out()).toContain(
      'EgressGateways\n' +
        'NAME        MODE        ACTIVE NODE   IP              READY NODES   CONNECTIONS   READY\n' +
        'egress-gw   VirtualIP   gw2           172.18.18.242   2             1234          True\n',
    );
    expect(out()).toContain(
      'Egresses\n' +
        'NAME          EGRESSIP      NODE     POOL     CONNECTIONS   READY\n' +
        'egress-prod   <none>        <none>   pool     <none>        False (PoolExhausted)\n' +
        'egress-web    10.10.0.104   node-4   <none>   0             True\n',
    );
  });

  it('reports an API server it cannot reach as unavailable', async () => {
    cluster.server.setUnavailable();
    try {
      const { io, out } = capture();
      expect(await runStatus(cluster.kc, io)).toBe(exitCodes.unavailable);
      expect(out()).toMatch(/cannot list egressgateways/);
    } finally {
      cluster.server.setAvailable();
    }
  });
});

describe('formatTable', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      formatTable(
        ['A', 'B'],
        [
          ['long', 'x'],
          ['s', 'yy'],
        ],
      ),
    ).toBe('A      B\nlong   x\ns      yy');
  });
});
