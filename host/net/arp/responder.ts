import { PACKET_OUTGOING } from '../../dataplane/native/linux.ts';
import {
  ARP_REPLY,
  ARP_REQUEST,
  type ArpFrame,
  BROADCAST_MAC,
  buildArpFrame,
  parseArpFrame,
} from './frame.ts';

/**
 * Why a received ARP frame got no answer, or 'none' when it did (MetalLB's dropReason).
 * This one value is the log field, the test oracle and the metric label.
 */
export const arpDropReasons = [
  'none',
  /** Not an Ethernet/IPv4 ARP packet, or truncated. */
  'malformed',
  /** Our own transmission, which an AF_PACKET socket sees too. */
  'outgoing',
  /** A reply or another operation: only requests are answered. */
  'not_request',
  /** Neither broadcast nor addressed to this interface's MAC. */
  'ethernet_destination',
  /** A gratuitous announcement (sender IP = target IP): nobody is asking. */
  'gratuitous',
  /** The target address is not one this node announces. */
  'not_owned',
  /** The answer could not be sent. */
  'send_failed',
] as const;
export type ArpDropReason = (typeof arpDropReasons)[number];

/** The sending half of an ARP socket, as the responder and announcer need it. */
export interface ArpSender {
  readonly interfaceName: string;
  readonly mac: string;
  send(frame: Uint8Array): void;
}

export interface ArpDecision {
  reason: ArpDropReason;
  /** The parsed frame, when it was ARP at all. */
  frame: ArpFrame | null;
}

/**
 * Decides whether to answer one received frame. Pure: `owns` says whether this node
 * answers for an address right now (the announcer's set).
 */
export function decideArp(
  bytes: Uint8Array,
  length: number,
  packetType: number,
  ourMac: string,
  owns: (ip: string) => boolean,
): ArpDecision {
  const frame = parseArpFrame(bytes, length);
  if (frame === null) return { reason: 'malformed', frame };
  if (packetType === PACKET_OUTGOING) return { reason: 'outgoing', frame };
  if (frame.operation !== ARP_REQUEST) return { reason: 'not_request', frame };
  if (frame.ethDestination !== BROADCAST_MAC && frame.ethDestination !== ourMac) {
    return { reason: 'ethernet_destination', frame };
  }
  // An RFC 5227 probe has sender 0.0.0.0 and is answered (it asks whether anyone owns
  // the address); an announcement has sender = target and asks nothing.
  if (frame.senderIp === frame.targetIp) return { reason: 'gratuitous', frame };
  if (!owns(frame.targetIp)) return { reason: 'not_owned', frame };
  return { reason: 'none', frame };
}

/** "targetIp is at ourMac", sent straight to the asker (RFC 826, "swap" step). */
export function buildArpReply(request: ArpFrame, ourMac: string): Uint8Array {
  return buildArpFrame({
    ethDestination: request.senderMac,
    ethSource: ourMac,
    operation: ARP_REPLY,
    senderMac: ourMac,
    senderIp: request.targetIp,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  });
}

export interface ArpResult {
  interfaceName: string;
  reason: ArpDropReason;
  senderIp: string | null;
  targetIp: string | null;
  /** Why sending failed, when reason is 'send_failed'. */
  error?: Error;
}

/** Where frames come from: ArpSocket, or a fake in tests. */
export interface ArpEndpoint extends ArpSender {
  receive(into: Uint8Array): { length: number; packetType: number } | null;
  onReadable(onReadable: () => void): void;
}

/**
 * Answers ARP requests on one interface for the addresses `owns` accepts, with the
 * interface's MAC. It knows nothing else: the announcer owns the address set.
 * `counts` holds one counter per reason (the metric); `onResult` sees every frame
 * (the log).
 */
export class ArpResponder {
  readonly counts = Object.fromEntries(arpDropReasons.map((r) => [r, 0])) as Record<
    ArpDropReason,
    number
  >;
  private readonly endpoint: ArpEndpoint;
  private readonly owns: (ip: string) => boolean;
  private readonly onResult: ((result: ArpResult) => void) | undefined;
  // Large enough for any Ethernet frame; ARP frames are 42-60 bytes.
  private readonly buffer = new Uint8Array(2048);

  constructor(
    endpoint: ArpEndpoint,
    owns: (ip: string) => boolean,
    onResult?: (result: ArpResult) => void,
  ) {
    this.endpoint = endpoint;
    this.owns = owns;
    this.onResult = onResult;
  }

  /** Serves frames from the event loop as they arrive. */
  start(): void {
    this.endpoint.onReadable(() => this.drain());
  }

  /** Handles every frame waiting on the socket; returns their reasons in order. */
  drain(): ArpDropReason[] {
    const reasons: ArpDropReason[] = [];
    for (;;) {
      const received = this.endpoint.receive(this.buffer);
      if (received === null) return reasons;
      reasons.push(this.handle(this.buffer, received.length, received.packetType));
    }
  }

  /** Decides on one frame, answers it when the decision is 'none', counts and reports. */
  handle(bytes: Uint8Array, length: number, packetType: number): ArpDropReason {
    const decision = decideArp(bytes, length, packetType, this.endpoint.mac, this.owns);
    let reason = decision.reason;
    let error: Error | undefined;
    if (reason === 'none' && decision.frame) {
      try {
        this.endpoint.send(buildArpReply(decision.frame, this.endpoint.mac));
      } catch (err) {
        // Reported through onResult (log) and counts (metric); the asker retries and
        // the next request is answered again.
        reason = 'send_failed';
        error = err instanceof Error ? err : new Error(String(err));
      }
    }
    this.counts[reason]++;
    this.onResult?.({
      interfaceName: this.endpoint.interfaceName,
      reason,
      senderIp: decision.frame?.senderIp ?? null,
      targetIp: decision.frame?.targetIp ?? null,
      ...(error ? { error } : {}),
    });
    return reason;
  }
}
