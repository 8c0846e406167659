// Transport header offsets (RFC 793 section 3.1, RFC 768, RFC 792).
//
//   TCP:  0 src port | 2 dst port | 4 seq | 8 ack | 12 data offset, flags | 14 window
//         16 checksum | 18 urgent                                (20 bytes minimum)
//   UDP:  0 src port | 2 dst port | 4 length | 6 checksum          (8 bytes)
//   ICMP: 0 type | 1 code | 2 checksum | 4 identifier | 6 sequence (echo, 8 bytes)
//         0 type | 1 code | 2 checksum | 4 unused or MTU | 8 the quoted datagram (errors)

export const L4_SRC_PORT: usize = 0;
export const L4_DST_PORT: usize = 2;

export const TCP_DATA_OFFSET: usize = 12;
export const TCP_FLAGS: usize = 13;
export const TCP_CHECKSUM: usize = 16;
export const TCP_HEADER_LEN: u32 = 20;

export const TCP_FIN: u8 = 0x01;
export const TCP_SYN: u8 = 0x02;
export const TCP_RST: u8 = 0x04;
export const TCP_ACK: u8 = 0x10;

export const UDP_LENGTH: usize = 4;
export const UDP_CHECKSUM: usize = 6;
export const UDP_HEADER_LEN: u32 = 8;

export const ICMP_TYPE: usize = 0;
export const ICMP_CODE: usize = 1;
export const ICMP_CHECKSUM: usize = 2;
export const ICMP_ID: usize = 4;
export const ICMP_HEADER_LEN: u32 = 8;
/** Where an ICMP error's quoted datagram starts. */
export const ICMP_QUOTE: usize = 8;

export const ICMP_ECHO_REPLY: u8 = 0;
export const ICMP_DEST_UNREACHABLE: u8 = 3;
export const ICMP_ECHO_REQUEST: u8 = 8;
export const ICMP_TIME_EXCEEDED: u8 = 11;
export const ICMP_PARAMETER_PROBLEM: u8 = 12;

/** RFC 5508: the errors that quote a datagram and are translated. */
@inline export function isIcmpError(type: u32): bool {
  return type == ICMP_DEST_UNREACHABLE || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETER_PROBLEM;
}

@inline export function isIcmpEcho(type: u32): bool {
  return type == ICMP_ECHO_REQUEST || type == ICMP_ECHO_REPLY;
}
