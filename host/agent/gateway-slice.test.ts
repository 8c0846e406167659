import { describe, expect, it } from 'vitest';
import type { EgressGroup, EgressState } from '../model/egress-state.ts';
import { activeVips, gatewaySlice } from './gateway-slice.ts';

const ports = {
  virtual: { portMin: 1024, portMax: 65535 },
  nodeOwned: { portMin: 61000, portMax: 65535 },
};
const interfaces = [{ name: 'eth1', addresses: ['172.18.18.11/24'] }];

function group(key: string, extra: Partial<EgressGroup>): EgressGroup {
  return {
    key,
    mode: 'virtual-ip',
    egressIP: '172.18.18.242',
    interfaceName: null,
    candidates: ['gw1', 'gw2'],
    suitable: ['gw1', 'gw2'],
    activeNode: 'gw1',
    ...extra,
  };
}

const state: EgressState = {
  groups: [
    group('EgressGateway/vip', {}),
    group('EgressGateway/primary', {
      mode: 'primary-ip',
      egressIP: null,
      interfaceName: 'eth1',
    }),
    group('EgressGateway/elsewhere', { egressIP: '172.18.18.243', activeNode: 'gw2' }),
  ],
  rules: [
    {
      id: 'EgressGatewayPolicy/vip',
      group: 'EgressGateway/vip',
      sources: ['10.244.1.11', '10.244.11.5'],
      placement: { '10.244.1.11': 'worker1', '10.244.11.5': 'gw1' },
      destinations: ['0.0.0.0/0'],
      excluded: ['10.244.0.0/16'],
    },
    {
      id: 'EgressGatewayPolicy/primary',
      group: 'EgressGateway/primary',
      sources: ['10.244.1.12'],
      placement: { '10.244.1.12': 'worker1' },
      destinations: ['203.0.113.0/24'],
      excluded: [],
    },
    {
      id: 'EgressGatewayPolicy/elsewhere',
      group: 'EgressGateway/elsewhere',
      sources: ['10.244.1.13'],
      placement: { '10.244.1.13': 'worker1' },
      destinations: ['0.0.0.0/0'],
      excluded: [],
    },
  ],
  clusterCIDRs: ['10.244.0.0/16'],
};

describe('gatewaySlice', () => {
  it('routes the VIPs and lends the primary address of the groups active here, nothing else', () => {
    const { role, natPolicy } = gatewaySlice(state, 'gw1', interfaces, ports);
    expect(role.vips).toEqual(['172.18.18.242']);
    expect(role.localEgress).toEqual([{ ip: '172.18.18.11', portMin: 61000, portMax: 65535 }]);
    expect(role.steering.map((rule) => rule.id)).toEqual([
      'EgressGatewayPolicy/vip',
      'EgressGatewayPolicy/primary',
    ]);
    expect(natPolicy.egress.map((egress) => egress.ip).sort()).toEqual([
      '172.18.18.11',
      '172.18.18.242',
    ]);
    expect(role.tunnel).toBeNull();
  });

  it('leaves the node’s own pods to the steering slice', () => {
    const { role } = gatewaySlice(state, 'gw1', interfaces, ports, {
      localSources: new Set(['10.244.11.5']),
    });
    expect(role.steering[0]!.sources).toEqual(['10.244.1.11/32']);
  });

  it('is empty on a node active for nothing', () => {
    const { role, natPolicy } = gatewaySlice(state, 'worker1', [], ports);
    expect(role).toEqual({ steering: [], vips: [], localEgress: [], tunnel: null });
    expect(natPolicy.egress).toEqual([]);
  });
});

describe('activeVips', () => {
  it('lists the VIPs of the groups active on the node, sorted, each once', () => {
    expect(activeVips(state, 'gw1')).toEqual(['172.18.18.242']);
    expect(activeVips(state, 'gw2')).toEqual(['172.18.18.243']);
    expect(activeVips(state, 'worker1')).toEqual([]);
  });
});
