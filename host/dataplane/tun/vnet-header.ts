import {
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP,
  VIRTIO_NET_HDR_GSO_UDP_L4,
} from '../native/linux.ts';

/**
 * struct virtio_net_hdr (virtio 1.x spec §5.1.6; <linux/virtio_net.h>), the header a TUN
 * with IFF_VNET_HDR puts before every packet. Little-endian on every host Linux runs
 * this on (legacy virtio uses native order; TUNSETVNETLE is not used here).
 *
 *  0       1          2            4            6             8              10
 *  +-------+----------+------------+------------+-------------+--------------+
 *  | flags | gso_type |  hdr_len   |  gso_size  | csum_start  | csum_offset  | (num_buffers u16)
 *  +-------+----------+------------+------------+-------------+--------------+
 *
 * csum_start is counted from the start of the packet after the header (the IPv4 header
 * on a TUN). This host-side view serves tests and diagnostics; the core has its own.
 */
export const FLAGS = 0;
export const GSO_TYPE = 1;
export const HDR_LEN = 2;
export const GSO_SIZE = 4;
export const CSUM_START = 6;
export const CSUM_OFFSET = 8;
export const VNET_HDR_LEN = CSUM_OFFSET + 2;

export interface VnetHeader {
  flags: number;
  /** Without the ECN bit; see `ecn`. */
  gsoType: number;
  ecn: boolean;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function decodeVnetHeader(bytes: Uint8Array, offset = 0): VnetHeader {
  if (offset < 0 || offset + VNET_HDR_LEN > bytes.byteLength) {
    throw new RangeError(`virtio_net_hdr needs ${VNET_HDR_LEN} bytes at ${offset}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, VNET_HDR_LEN);
  const gsoType = view.getUint8(GSO_TYPE);
  return {
    flags: view.getUint8(FLAGS),
    gsoType: gsoType & ~VIRTIO_NET_HDR_GSO_ECN,
    ecn: (gsoType & VIRTIO_NET_HDR_GSO_ECN) !== 0,
    hdrLen: view.getUint16(HDR_LEN, true),
    gsoSize: view.getUint16(GSO_SIZE, true),
    csumStart: view.getUint16(CSUM_START, true),
    csumOffset: view.getUint16(CSUM_OFFSET, true),
  };
}

export function encodeVnetHeader(header: VnetHeader, bytes: Uint8Array, offset = 0): void {
  if (offset < 0 || offset + VNET_HDR_LEN > bytes.byteLength) {
    throw new RangeError(`virtio_net_hdr needs ${VNET_HDR_LEN} bytes at ${offset}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, VNET_HDR_LEN);
  view.setUint8(FLAGS, header.flags);
  view.setUint8(GSO_TYPE, header.gsoType | (header.ecn ? VIRTIO_NET_HDR_GSO_ECN : 0));
  view.setUint16(HDR_LEN, header.hdrLen, true);
  view.setUint16(GSO_SIZE, header.gsoSize, true);
  view.setUint16(CSUM_START, header.csumStart, true);
  view.setUint16(CSUM_OFFSET, header.csumOffset, true);
}

export const noOffloadHeader: Readonly<VnetHeader> = {
  flags: 0,
  gsoType: VIRTIO_NET_HDR_GSO_NONE,
  ecn: false,
  hdrLen: 0,
  gsoSize: 0,
  csumStart: 0,
  csumOffset: 0,
};

const gsoNames: Record<number, string> = {
  [VIRTIO_NET_HDR_GSO_NONE]: 'none',
  [VIRTIO_NET_HDR_GSO_TCPV4]: 'tcpv4',
  [VIRTIO_NET_HDR_GSO_UDP]: 'udp',
  [VIRTIO_NET_HDR_GSO_TCPV6]: 'tcpv6',
  [VIRTIO_NET_HDR_GSO_UDP_L4]: 'udp_l4',
};

/** 'tcpv4', 'udp_l4', ... for logs; 'gso_<n>' when unknown. */
export function gsoTypeName(gsoType: number): string {
  return gsoNames[gsoType & ~VIRTIO_NET_HDR_GSO_ECN] ?? `gso_${gsoType}`;
}

export function needsChecksum(header: VnetHeader): boolean {
  return (header.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
}

export function dataValid(header: VnetHeader): boolean {
  return (header.flags & VIRTIO_NET_HDR_F_DATA_VALID) !== 0;
}
