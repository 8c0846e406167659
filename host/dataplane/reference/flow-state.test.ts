import { describe, expect, it } from 'vitest';
import { defaultTimeouts } from '../nat-engine.ts';
import {
  evictionClass,
  FlowState,
  type FlowStatus,
  initialStatus,
  isExpired,
  nextStatus,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  timeoutFor,
} from './flow-state.ts';

const S = FlowState;
type Step = [outbound: boolean, flags: number];
const OUT = true;
const IN = false;

/** Runs a new TCP flow through its first packet (outbound) and then the given steps. */
function run(first: number, steps: Step[]): FlowStatus {
  let status = nextStatus(PROTO_TCP, initialStatus(PROTO_TCP, first), OUT, first);
  for (const [outbound, flags] of steps) status = nextStatus(PROTO_TCP, status, outbound, flags);
  return status;
}

describe('TCP states', () => {
  it.each<[string, number, Step[], FlowState]>([
    ['SYN starts syn_sent', TCP_SYN, [], S.synSent],
    ['SYN+ACK reply gives syn_received', TCP_SYN, [[IN, TCP_SYN | TCP_ACK]], S.synReceived],
    ['a pure SYN reply (simultaneous open) changes nothing', TCP_SYN, [[IN, TCP_SYN]], S.synSent],
    [
      'the next outbound segment without SYN establishes',
      TCP_SYN,
      [
        [IN, TCP_SYN | TCP_ACK],
        [OUT, TCP_ACK],
      ],
      S.established,
    ],
    [
      'a retransmitted SYN does not establish',
      TCP_SYN,
      [
        [IN, TCP_SYN | TCP_ACK],
        [OUT, TCP_SYN],
      ],
      S.synReceived,
    ],
    ['mid-stream pick-up is unreplied', TCP_ACK, [], S.unreplied],
    ['pick-up becomes established at the first reply', TCP_ACK, [[IN, TCP_ACK]], S.established],
    [
      'pick-up becomes established at a SYN+ACK reply too',
      TCP_ACK,
      [[IN, TCP_SYN | TCP_ACK]],
      S.established,
    ],
    ['more outbound segments leave a pick-up unreplied', TCP_ACK, [[OUT, TCP_ACK]], S.unreplied],
    ['a first RST creates a closed flow', TCP_RST, [], S.closed],
    ['a first FIN creates a fin_wait flow', TCP_FIN | TCP_ACK, [], S.finWait],
    [
      'one FIN gives fin_wait',
      TCP_ACK,
      [
        [IN, TCP_ACK],
        [OUT, TCP_FIN | TCP_ACK],
      ],
      S.finWait,
    ],
    [
      'a FIN from each side gives time_wait',
      TCP_ACK,
      [
        [IN, TCP_ACK],
        [OUT, TCP_FIN],
        [IN, TCP_FIN | TCP_ACK],
      ],
      S.timeWait,
    ],
    [
      'two FINs from one side stay fin_wait',
      TCP_ACK,
      [
        [IN, TCP_ACK],
        [OUT, TCP_FIN],
        [OUT, TCP_FIN],
      ],
      S.finWait,
    ],
    [
      'RST closes an established flow',
      TCP_ACK,
      [
        [IN, TCP_ACK],
        [IN, TCP_RST],
      ],
      S.closed,
    ],
    ['RST wins over SYN', TCP_SYN, [[IN, TCP_SYN | TCP_RST]], S.closed],
    [
      'a FIN does not reopen a closed flow',
      TCP_ACK,
      [
        [IN, TCP_RST],
        [OUT, TCP_FIN],
      ],
      S.closed,
    ],
    [
      'an outbound SYN restarts a closed flow',
      TCP_ACK,
      [
        [IN, TCP_RST],
        [OUT, TCP_SYN],
      ],
      S.synSent,
    ],
    [
      'an outbound SYN restarts a time_wait flow',
      TCP_ACK,
      [
        [OUT, TCP_FIN],
        [IN, TCP_FIN],
        [OUT, TCP_SYN],
      ],
      S.synSent,
    ],
    [
      'an outbound SYN on an established flow changes nothing',
      TCP_ACK,
      [
        [IN, TCP_ACK],
        [OUT, TCP_SYN],
      ],
      S.established,
    ],
  ])('%s', (_name, first, steps, expected) => {
    expect(run(first, steps).state).toBe(expected);
  });

  it('remembers replies and FIN directions, and forgets them on restart', () => {
    const closing = run(TCP_ACK, [
      [IN, TCP_ACK],
      [OUT, TCP_FIN],
    ]);
    expect(closing).toEqual({
      state: S.finWait,
      replied: true,
      finOutbound: true,
      finInbound: false,
    });
    const restarted = run(TCP_ACK, [
      [IN, TCP_RST],
      [OUT, TCP_SYN],
    ]);
    expect(restarted).toEqual({
      state: S.synSent,
      replied: false,
      finOutbound: false,
      finInbound: false,
    });
  });
});

describe('UDP and ICMP states', () => {
  it('are unreplied until the first reply, then established', () => {
    for (const proto of [PROTO_UDP, PROTO_ICMP]) {
      const fresh = nextStatus(proto, initialStatus(proto, 0), OUT, 0);
      expect(fresh.state).toBe(S.unreplied);
      expect(nextStatus(proto, fresh, IN, 0)).toMatchObject({
        state: S.established,
        replied: true,
      });
    }
  });
});

describe('timeouts', () => {
  it.each<[number, FlowState, number]>([
    [PROTO_TCP, S.synSent, 240_000],
    [PROTO_TCP, S.synReceived, 240_000],
    [PROTO_TCP, S.unreplied, 240_000],
    [PROTO_TCP, S.finWait, 240_000],
    [PROTO_TCP, S.established, 7_440_000],
    [PROTO_TCP, S.timeWait, 120_000],
    [PROTO_TCP, S.closed, 10_000],
    [PROTO_UDP, S.established, 120_000],
    [PROTO_ICMP, S.unreplied, 60_000],
  ])('proto %i state %i: %i ms', (proto, state, ms) => {
    expect(timeoutFor(proto, state, defaultTimeouts)).toBe(ms);
  });

  it('expire when now reaches the expiry, across the 2^32 wrap', () => {
    expect(isExpired(1000, 999)).toBe(false);
    expect(isExpired(1000, 1000)).toBe(true);
    expect(isExpired(5, 0xfffffff0)).toBe(false);
    expect(isExpired(0xfffffff0, 5)).toBe(true);
  });
});

describe('evictionClass', () => {
  it('prefers closing flows, then unreplied ones', () => {
    const status = (state: FlowState, replied: boolean): FlowStatus => ({
      state,
      replied,
      finOutbound: false,
      finInbound: false,
    });
    expect(evictionClass(status(S.timeWait, true))).toBe(0);
    expect(evictionClass(status(S.finWait, true))).toBe(0);
    expect(evictionClass(status(S.closed, false))).toBe(0);
    expect(evictionClass(status(S.synSent, false))).toBe(1);
    expect(evictionClass(status(S.established, true))).toBe(2);
  });
});
