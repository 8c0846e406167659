import { describe, expect, it } from 'vitest';
import { isolationReport, isolationViolations } from './isolation.ts';

const LAB = new Set(['egwlab-1-abcd-gw1', 'egwlab-1-abcd-fabric']);

// Trimmed `ip -d -j link show` entries.
const loopback = { ifname: 'lo', link_type: 'loopback' };
const bridge = { ifname: 'br-node', link_type: 'ether', linkinfo: { info_kind: 'bridge' } };
const vethTo = (nsid: number) => ({
  ifname: 'eth0',
  link_type: 'ether',
  link_netnsid: nsid,
  linkinfo: { info_kind: 'veth' },
});

describe('lab isolation check', () => {
  it('accepts loopback, bridges and veths whose peer is in the lab', () => {
    const nsids = [{ nsid: 0, name: 'egwlab-1-abcd-fabric' }];
    expect(isolationViolations('gw1', [loopback, bridge, vethTo(0)], nsids, LAB)).toEqual([]);
  });

  it('flags a veth into the root namespace (an nsid without a name)', () => {
    expect(isolationViolations('gw1', [vethTo(3)], [{ nsid: 3 }], LAB)).toEqual([
      'gw1: veth eth0 has its peer in an unnamed namespace',
    ]);
  });

  it('flags a veth into a named namespace of someone else, and foreign devices', () => {
    const nsids = [{ nsid: 1, name: 'cni-1234' }];
    const physical = { ifname: 'ens3', link_type: 'ether' };
    const tun = { ifname: 'tun0', link_type: 'none', linkinfo: { info_kind: 'tun' } };
    expect(isolationViolations('gw1', [vethTo(1), physical, tun], nsids, LAB)).toEqual([
      'gw1: veth eth0 has its peer in cni-1234',
      'gw1: ens3 is a ether device',
      'gw1: tun0 is a tun device',
    ]);
  });

  it('reads the last two JSON documents of a batch and rejects anything else', () => {
    const stdout = `${JSON.stringify([loopback, vethTo(0)])}\n${JSON.stringify([{ nsid: 0, name: 'egwlab-1-abcd-fabric' }])}\n`;
    expect(isolationReport('gw1', stdout, LAB)).toEqual([]);
    expect(() => isolationReport('gw1', '[]\n', LAB)).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_OUTPUT' }),
    );
    expect(() => isolationReport('gw1', 'Error: x\n[]\n', LAB)).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_OUTPUT' }),
    );
  });
});
