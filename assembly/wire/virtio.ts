// virtio_net_hdr, the header the TUN device puts before each packet when opened with
// IFF_VNET_HDR (include/uapi/linux/virtio_net.h). Little-endian on every host we run on
// (TUN defaults to the host's byte order; virtio 1.0 is little-endian).
//
//   0       1        2        4         6           8            10           12
//   +-------+--------+--------+---------+-----------+------------+------------+
//   | flags |gso_type|hdr_len |gso_size |csum_start |csum_offset |num_buffers |
//   +-------+--------+--------+---------+-----------+------------+------------+
//                                                   (10 bytes)   (12 with mrg_rxbuf)

export const VNET_FLAGS: usize = 0;
export const VNET_GSO_TYPE: usize = 1;
export const VNET_HDR_LEN: usize = 2;
export const VNET_GSO_SIZE: usize = 4;
export const VNET_CSUM_START: usize = 6;
export const VNET_CSUM_OFFSET: usize = 8;

/** flags: the L4 checksum is partial; the device finishes it from csum_start. */
export const VNET_F_NEEDS_CSUM: u8 = 1;

export const GSO_NONE: u8 = 0;
export const GSO_TCPV4: u8 = 1;
export const GSO_UDP: u8 = 3;
export const GSO_TCPV6: u8 = 4;
/** Not in Debian 12's headers (DESIGN.md pitfalls). */
export const GSO_UDP_L4: u8 = 5;
export const GSO_ECN: u8 = 0x80;
