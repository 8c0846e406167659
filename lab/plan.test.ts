import { describe, expect, it } from 'vitest';
import { planNetwork } from './plan.ts';
import { resolveLabSpec } from './spec.ts';
import { buildTopology, findNetns, labNamespaces } from './topology.ts';

const PREFIX = 'egwlab-4242-ab12';

function fullLab(podsPerGateway = 0) {
  return buildTopology(
    resolveLabSpec({
      gateways: 3,
      workers: 2,
      podsPerWorker: 8,
      podsPerGateway,
      workerBehindRouter: true,
    }),
    PREFIX,
  );
}

describe('lab topology', () => {
  it('numbers nodes, pods and addresses as the README says', () => {
    const topology = fullLab();
    expect(topology.gateways.map((g) => [g.name, g.nodeIp, g.uplinkIp, g.podCidr])).toEqual([
      ['gw1', '192.168.77.11', '172.18.18.11', '10.244.11.0/24'],
      ['gw2', '192.168.77.12', '172.18.18.12', '10.244.12.0/24'],
      ['gw3', '192.168.77.13', '172.18.18.13', '10.244.13.0/24'],
    ]);
    expect(topology.workers.map((w) => [w.name, w.nodeIp, w.podCidr, w.behindRouter])).toEqual([
      ['worker1', '192.168.77.21', '10.244.1.0/24', false],
      ['worker2', '192.168.78.22', '10.244.2.0/24', true],
    ]);
    expect(topology.pods[0]).toMatchObject({
      name: 'worker1-pod1',
      ip: '10.244.1.11',
      gatewayIp: '10.244.1.1',
    });
    expect(topology.pods.at(-1)).toMatchObject({
      name: 'worker2-pod8',
      ip: '10.244.2.18',
      hostInterface: 'pod8',
    });
    expect(findNetns(topology, 'worker2-pod8')).toBe(`${PREFIX}-worker2-pod8`);
    expect(() => findNetns(topology, 'gw4')).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_UNKNOWN_NAME' }),
    );
    expect(topology.gateways.every((g) => g.pods.length === 0)).toBe(true);
    expect(() => findNetns(topology, 'gw1-pod1')).toThrow(/no namespace role "gw1-pod1"/);
  });

  it('numbers gateway pods in the gateway’s pod CIDR, listed before worker pods', () => {
    const topology = fullLab(4);
    expect(topology.gateways.map((g) => g.pods.map((p) => p.ip))).toEqual([
      ['10.244.11.11', '10.244.11.12', '10.244.11.13', '10.244.11.14'],
      ['10.244.12.11', '10.244.12.12', '10.244.12.13', '10.244.12.14'],
      ['10.244.13.11', '10.244.13.12', '10.244.13.13', '10.244.13.14'],
    ]);
    expect(topology.gateways[1]!.pods[0]).toEqual({
      name: 'gw2-pod1',
      netns: `${PREFIX}-gw2-pod1`,
      ip: '10.244.12.11',
      node: 'gw2',
      hostInterface: 'pod1',
      gatewayIp: '10.244.12.1',
    });
    expect(topology.pods).toHaveLength(12 + 16);
    expect(topology.pods.map((p) => p.name).slice(10, 14)).toEqual([
      'gw3-pod3',
      'gw3-pod4',
      'worker1-pod1',
      'worker1-pod2',
    ]);
    expect(findNetns(topology, 'gw3-pod4')).toBe(`${PREFIX}-gw3-pod4`);
    expect(labNamespaces(topology)).toContain(`${PREFIX}-gw1-pod2`);
  });

  it.each([0, 2])(
    'gives every address to one interface only, except the pods gateway (%i pods per gateway)',
    (podsPerGateway) => {
      const plan = planNetwork(fullLab(podsPerGateway));
      const owners = new Map<string, string[]>();
      for (const [netns, lines] of plan.configure) {
        for (const line of lines) {
          const match = /^addr add (\S+)\/\d+ dev (\S+)$/.exec(line);
          if (match === null) continue;
          owners.set(match[1]!, [...(owners.get(match[1]!) ?? []), `${netns}/${match[2]}`]);
        }
      }
      const shared = [...owners].filter(([, where]) => where.length > 1).map(([ip]) => ip);
      const gatewayPodsGateways =
        podsPerGateway > 0 ? ['10.244.11.1', '10.244.12.1', '10.244.13.1'] : [];
      expect(shared.sort()).toEqual(['10.244.1.1', ...gatewayPodsGateways, '10.244.2.1']);
    },
  );
});

describe('lab network plan', () => {
  it.each([0, 4])(
    'creates every link straight inside lab namespaces (%i pods per gateway)',
    (podsPerGateway) => {
      const topology = fullLab(podsPerGateway);
      const plan = planNetwork(topology);
      const lab = new Set(labNamespaces(topology));
      expect(plan.namespaces).toHaveLength(1 + 3 + 2 + 16 + 3 * podsPerGateway + 1 + 1 + 1);
      for (const line of plan.createLinks) {
        const placements = [...line.matchAll(/ netns (\S+)/g)].map((match) => match[1]!);
        const expected = line.includes(' type veth ') ? 2 : 1;
        expect(placements, line).toHaveLength(expected);
        for (const netns of placements) expect(lab.has(netns), line).toBe(true);
        if (line.includes(' type bridge')) expect(placements).toEqual([topology.fabric.netns]);
      }
    },
  );

  it('brings links up and adds addresses before any route through a next hop', () => {
    for (const [netns, lines] of planNetwork(fullLab(2)).configure) {
      const firstRoute = lines.findIndex((line) => / via /.test(line));
      const lastAddress = lines.findLastIndex(
        (line) => line.startsWith('addr ') || line.startsWith('link '),
      );
      if (firstRoute >= 0) expect(lastAddress, netns).toBeLessThan(firstRoute);
    }
  });

  it('routes pod CIDRs like a flat CNI and across the node router', () => {
    const plan = planNetwork(fullLab());
    expect(plan.configure.get(`${PREFIX}-gw1`)).toEqual(
      expect.arrayContaining([
        'route add 192.168.78.0/24 via 192.168.77.1 dev eth0',
        'route add 10.244.1.0/24 via 192.168.77.21 dev eth0',
        'route add 10.244.2.0/24 via 192.168.77.1 dev eth0',
        'route add default via 172.18.18.1 dev eth1',
      ]),
    );
    expect(plan.configure.get(`${PREFIX}-worker2`)).toEqual(
      expect.arrayContaining([
        'route add 192.168.77.0/24 via 192.168.78.1 dev eth0',
        'route add 10.244.11.0/24 via 192.168.78.1 dev eth0',
      ]),
    );
    expect(plan.configure.get(`${PREFIX}-worker1`)?.some((l) => l.includes('default'))).toBe(false);
    expect(plan.configure.get(`${PREFIX}-worker1-pod1`)).toEqual([
      'link set lo up',
      'link set eth0 up',
      'addr add 10.244.1.11/32 dev eth0',
      'route add 10.244.1.1 dev eth0 scope link',
      'route add default via 10.244.1.1 dev eth0',
    ]);
  });

  it('wires gateway pods exactly like worker pods, and routes to them from every node', () => {
    const plan = planNetwork(fullLab(1));
    const podLines = (n: number) => [
      'link set lo up',
      'link set eth0 up',
      `addr add 10.244.${n}.11/32 dev eth0`,
      `route add 10.244.${n}.1 dev eth0 scope link`,
      `route add default via 10.244.${n}.1 dev eth0`,
    ];
    expect(plan.configure.get(`${PREFIX}-gw2-pod1`)).toEqual(podLines(12));
    expect(plan.configure.get(`${PREFIX}-worker1-pod1`)).toEqual(podLines(1));
    const hostSide = (n: number) => [
      'link set pod1 up',
      `addr add 10.244.${n}.1/32 dev pod1`,
      `route add 10.244.${n}.11/32 dev pod1`,
    ];
    expect(plan.configure.get(`${PREFIX}-gw2`)).toEqual(expect.arrayContaining(hostSide(12)));
    expect(plan.configure.get(`${PREFIX}-worker1`)).toEqual(expect.arrayContaining(hostSide(1)));
    expect(plan.createLinks).toContain(
      `link add pod1 netns ${PREFIX}-gw2 mtu 1500 type veth peer name eth0 netns ${PREFIX}-gw2-pod1 mtu 1500`,
    );
    expect(plan.sysctls.get(`${PREFIX}-gw2-pod1`)).toEqual(
      plan.sysctls.get(`${PREFIX}-worker1-pod1`),
    );
    expect(plan.sysctls.get(`${PREFIX}-gw2`)).toContain('net.ipv4.conf.pod1.rp_filter=0');
    // The flat-CNI routes: same segment, behind the node router, and the router itself.
    expect(plan.configure.get(`${PREFIX}-worker1`)).toContain(
      'route add 10.244.12.0/24 via 192.168.77.12 dev eth0',
    );
    expect(plan.configure.get(`${PREFIX}-gw3`)).toContain(
      'route add 10.244.12.0/24 via 192.168.77.12 dev eth0',
    );
    expect(plan.configure.get(`${PREFIX}-worker2`)).toContain(
      'route add 10.244.12.0/24 via 192.168.78.1 dev eth0',
    );
    expect(plan.configure.get(`${PREFIX}-node-router`)).toContain(
      'route add 10.244.12.0/24 via 192.168.77.12 dev eth0',
    );
  });

  it('puts the optional control plane on the node network, routed to the far subnet', () => {
    const topology = buildTopology(
      resolveLabSpec({ workers: 2, workerBehindRouter: true, controlPlane: true }),
      PREFIX,
    );
    const plan = planNetwork(topology);
    expect(findNetns(topology, 'control-plane')).toBe(`${PREFIX}-control-plane`);
    expect(plan.configure.get(`${PREFIX}-fabric`)).toContain('link set cp-eth0 master br-node up');
    expect(plan.configure.get(`${PREFIX}-control-plane`)).toEqual(
      expect.arrayContaining([
        'addr add 192.168.77.2/24 dev eth0',
        'route add 192.168.78.0/24 via 192.168.77.1 dev eth0',
      ]),
    );
    expect(planNetwork(buildTopology(resolveLabSpec(), PREFIX)).namespaces).not.toContain(
      `${PREFIX}-control-plane`,
    );
  });

  it('forwards only on nodes and routers, and sets the outside link MTU', () => {
    const topology = buildTopology(resolveLabSpec({ outsideMtu: 1400 }), PREFIX);
    const plan = planNetwork(topology);
    const forwarding = [...plan.sysctls]
      .filter(([, pairs]) => pairs.includes('net.ipv4.ip_forward=1'))
      .map(([netns]) => netns.slice(PREFIX.length + 1));
    expect(forwarding.sort()).toEqual(['gw1', 'gw2', 'router', 'worker1']);
    expect(plan.createLinks).toContain(
      `link add eth1 netns ${PREFIX}-router mtu 1400 type veth peer name eth0 netns ${PREFIX}-outside mtu 1400`,
    );
    expect(plan.sysctls.get(`${PREFIX}-gw1`)).toContain('net.ipv4.conf.eth1.rp_filter=0');
  });
});
