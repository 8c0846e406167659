import { describe, expect, it } from 'vitest';
import {
  formatSourceLine,
  parseProbeReport,
  parseServerEvent,
  parseSourceLine,
} from './outside-protocol.ts';

describe('outside server protocol', () => {
  it('round-trips the source line', () => {
    expect(formatSourceLine('172.18.18.11', 40000)).toBe('172.18.18.11:40000\n');
    expect(parseSourceLine('172.18.18.11:40000\n')).toEqual({ ip: '172.18.18.11', port: 40000 });
    expect(parseSourceLine('203.0.113.1:7')).toEqual({ ip: '203.0.113.1', port: 7 });
  });

  it.each(['', '172.18.18.11', '::ffff:1.2.3.4:5', '1.2.3.4:99999', '1.2.3.4:5\nextra'])(
    'rejects %j',
    (text) => {
      expect(() => parseSourceLine(text)).toThrow(
        expect.objectContaining({ code: 'EGW_LAB_BAD_OUTPUT' }),
      );
    },
  );

  it('reads server events and ignores other lines', () => {
    expect(parseServerEvent('{"event":"listening","port":7777}')).toEqual({
      event: 'listening',
      port: 7777,
    });
    expect(parseServerEvent('{"event":"udp","source":"172.18.18.242:5000","count":3}')).toEqual({
      event: 'udp',
      source: '172.18.18.242:5000',
      count: 3,
    });
    expect(parseServerEvent('{"event":"tcp","source":"x"}')).toBeUndefined();
    expect(parseServerEvent('(node:1) Warning')).toBeUndefined();
    expect(parseServerEvent('null')).toBeUndefined();
  });

  it('reads probe reports', () => {
    expect(
      parseProbeReport('{"ok":true,"transport":"tcp","source":"172.18.18.12:4000","rttMs":0.5}'),
    ).toEqual({
      ok: true,
      transport: 'tcp',
      source: { ip: '172.18.18.12', port: 4000 },
      rttMs: 0.5,
    });
    expect(parseProbeReport('{"ok":false,"transport":"udp","error":"ETIMEDOUT"}')).toEqual({
      ok: false,
      transport: 'udp',
      error: 'ETIMEDOUT',
    });
    expect(parseProbeReport('{"ok":true,"transport":"sctp","source":"1.2.3.4:5"}')).toBeUndefined();
    expect(parseProbeReport('')).toBeUndefined();
  });
});
