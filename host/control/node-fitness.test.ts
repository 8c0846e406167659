import { describe, expect, it } from 'vitest';
import { node } from './fixtures/cluster.ts';
import {
  nodeHoldsAddress,
  primaryIPProblem,
  primaryIPv4,
  suitabilityProblem,
  vipProblem,
} from './node-fitness.ts';

const interfaces = [
  { name: 'eth0', addresses: ['10.0.0.11/24'] },
  { name: 'eth1', addresses: ['fe80::1/64', '172.18.18.11/24', '172.18.18.100/24'] },
  { name: 'lo', addresses: ['127.0.0.1/8', '198.51.100.9/32'] },
];

describe('suitabilityProblem', () => {
  const agents = new Set(['n']);
  it.each([
    [{}, null],
    [{ ready: false }, 'NotReady'],
    [{ unschedulable: true }, 'cordoned'],
    [{ ready: false, unschedulable: true }, 'NotReady'],
  ])('%j -> %s', (options, problem) => {
    expect(suitabilityProblem(node('n', options), agents)).toBe(problem);
  });
  it('a node without a ready agent', () => {
    expect(suitabilityProblem(node('m'), agents)).toBe('egressgw agent not ready');
  });
});

describe('primary-ip', () => {
  it('the first IPv4 address of the interface is its primary', () => {
    expect(primaryIPv4(interfaces, 'eth1')).toBe('172.18.18.11');
    expect(primaryIPv4(interfaces, 'eth9')).toBeNull();
  });
  it('says what is missing', () => {
    expect(primaryIPProblem(node('n', { interfaces }), 'eth1')).toBeNull();
    expect(primaryIPProblem(node('n', { interfaces }), 'eth9')).toBe('no interface eth9');
    const v6only = [{ name: 'eth1', addresses: ['fe80::1/64'] }];
    expect(primaryIPProblem(node('n', { interfaces: v6only }), 'eth1')).toBe(
      'no IPv4 address on eth1',
    );
    expect(primaryIPProblem(node('n'), 'eth1')).toBeNull(); // interfaces not known yet
  });
});

describe('vipProblem', () => {
  it('a VIP inside an interface subnet fits', () => {
    expect(vipProblem(node('n', { interfaces }), '172.18.18.242')).toBeNull();
  });
  it('a /32 address is no subnet', () => {
    expect(vipProblem(node('n', { interfaces }), '198.51.100.10')).toMatch(/outside the subnets/);
  });
  it('a VIP that is already an interface address does not fit', () => {
    expect(vipProblem(node('n', { interfaces }), '172.18.18.100')).toBe(
      '172.18.18.100 is already the address of one of its interfaces',
    );
  });
  it('lists what it saw', () => {
    const one = [{ name: 'eth0', addresses: ['10.0.0.11/24'] }];
    expect(vipProblem(node('n', { interfaces: one }), '192.168.1.1')).toBe(
      '192.168.1.1 is outside the subnets of its interfaces (eth0 10.0.0.11/24)',
    );
    expect(vipProblem(node('n', { interfaces: [] }), '192.168.1.1')).toBe(
      '192.168.1.1 is outside the subnets of its interfaces (no IPv4 addresses)',
    );
  });
  it('unknown interfaces: no verdict', () => {
    expect(vipProblem(node('n'), '192.168.1.1')).toBeNull();
  });
});

describe('nodeHoldsAddress', () => {
  it('in status.addresses or on an interface', () => {
    expect(nodeHoldsAddress(node('n', { addresses: ['10.10.0.104'] }), '10.10.0.104')).toBe(true);
    expect(nodeHoldsAddress(node('n', { interfaces }), '172.18.18.100')).toBe(true);
    expect(nodeHoldsAddress(node('n', { interfaces }), '172.18.18.101')).toBe(false);
  });
});
