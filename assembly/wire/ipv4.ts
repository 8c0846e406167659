// IPv4 header (RFC 791, section 3.1).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |Type of Service|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |Flags|      Fragment Offset    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Getters read without bounds checks: callers run checkIPv4 first, which proves the
// fixed header and the options lie inside the buffer.

export const IP_VERSION_IHL: usize = 0;
export const IP_TOTAL_LEN: usize = 2;
export const IP_ID: usize = 4;
export const IP_FLAGS_FRAG: usize = 6;
export const IP_TTL: usize = 8;
export const IP_PROTO: usize = 9;
export const IP_CHECKSUM: usize = 10;
export const IP_SRC: usize = 12;
export const IP_DST: usize = 16;
export const IP_HEADER_LEN: u32 = 20;

export const PROTO_ICMP: u8 = 1;
export const PROTO_TCP: u8 = 6;
export const PROTO_UDP: u8 = 17;

/** In the host-order flags/fragment-offset word. */
export const IP_MF: u32 = 0x2000;
export const IP_OFFSET_MASK: u32 = 0x1fff;

/** checkIPv4 results: 0 is valid; the rest say which verdict to give. */
export const IP_OK: u32 = 0;
export const IP_MALFORMED: u32 = 1;
export const IP_UNSUPPORTED: u32 = 2;

/**
 * Checks that `len` bytes at `ip` hold an IPv4 header and the whole datagram its total
 * length claims. Trailing bytes beyond the total length are allowed and left alone.
 */
export function checkIPv4(ip: usize, len: u32): u32 {
  if (len < IP_HEADER_LEN) return IP_MALFORMED;
  const versionIhl = <u32>load<u8>(ip, IP_VERSION_IHL);
  const version = versionIhl >> 4;
  if (version != 4) return version == 6 ? IP_UNSUPPORTED : IP_MALFORMED;
  const headerLen = (versionIhl & 0xf) << 2;
  if (headerLen < IP_HEADER_LEN || headerLen > len) return IP_MALFORMED;
  const totalLen = <u32>bswap<u16>(load<u16>(ip, IP_TOTAL_LEN));
  if (totalLen < headerLen || totalLen > len) return IP_MALFORMED;
  return IP_OK;
}

@inline export function ipHeaderLen(ip: usize): u32 {
  return (<u32>load<u8>(ip, IP_VERSION_IHL) & 0xf) << 2;
}

@inline export function ipTotalLen(ip: usize): u32 {
  return <u32>bswap<u16>(load<u16>(ip, IP_TOTAL_LEN));
}

/** Flags and fragment offset, host order. */
@inline export function ipFlagsFrag(ip: usize): u32 {
  return <u32>bswap<u16>(load<u16>(ip, IP_FLAGS_FRAG));
}

@inline export function isFragment(flagsFrag: u32): bool {
  return (flagsFrag & (IP_MF | IP_OFFSET_MASK)) != 0;
}

@inline export function isLaterFragment(flagsFrag: u32): bool {
  return (flagsFrag & IP_OFFSET_MASK) != 0;
}
