import { describe, expect, it } from 'vitest';
import { outsideIcmpRuleset, parseIcmpSources } from './outside-icmp.ts';

const META =
  '{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}';

describe('outside ICMP sources', () => {
  it('records echo-request sources in a dynamic set', () => {
    expect(outsideIcmpRuleset).toContain('icmp type echo-request add @icmp_sources { ip saddr }');
  });

  it('reads set members as nft 1.0.6 prints them', () => {
    const listed = `{"nftables": [${META}, {"set": {"family": "ip", "name": "icmp_sources", "table": "egwlab_outside", "type": "ipv4_addr", "handle": 2, "size": 65536, "elem": ["172.18.18.242", "172.18.18.11"]}}]}`;
    expect(parseIcmpSources(listed)).toEqual(['172.18.18.11', '172.18.18.242']);
    const empty = `{"nftables": [${META}, {"set": {"family": "ip", "name": "icmp_sources", "table": "egwlab_outside", "type": "ipv4_addr", "handle": 2, "size": 65536}}]}`;
    expect(parseIcmpSources(empty)).toEqual([]);
    const withTimeout = `{"nftables": [{"set": {"elem": [{"elem": {"val": "172.18.18.12", "timeout": 60}}]}}]}`;
    expect(parseIcmpSources(withTimeout)).toEqual(['172.18.18.12']);
  });

  it('rejects other output', () => {
    expect(() => parseIcmpSources('Error: No such file or directory')).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_OUTPUT' }),
    );
    expect(() => parseIcmpSources(`{"nftables": [${META}]}`)).toThrow(/no set/);
    expect(() => parseIcmpSources('{"nftables": [{"set": {"elem": [7]}}]}')).toThrow(
      /unexpected set element/,
    );
  });
});
