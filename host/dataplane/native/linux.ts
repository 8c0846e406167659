/**
 * Linux ABI constants used through the FFI (ffi.ts). Values are the same on x86_64 and
 * arm64 (the generic ioctl encoding); each block names the header it comes from.
 */

// <fcntl.h>
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_GETFL = 3;
export const F_SETFL = 4;

// <poll.h>
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

// <sched.h>
export const CLONE_NEWNET = 0x40000000;

// <sys/socket.h>, <linux/if_packet.h>, <linux/if_ether.h>
export const AF_INET = 2;
export const AF_PACKET = 17;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const ETH_P_ARP = 0x0806;
export const ARPHRD_ETHER = 1;
/** sockaddr_ll.sll_pkttype of a frame this host sent (the socket sees its own output). */
export const PACKET_OUTGOING = 4;

// <linux/sockios.h>; struct ifreq is IFNAMSIZ (16) bytes of name and a 24-byte union.
export const SIOCGIFHWADDR = 0x8927;
export const IFNAMSIZ = 16;
export const IFREQ_SIZE = 40;

// <linux/if_tun.h>: _IOW('T', 202, int) and friends.
export const TUNSETIFF = 0x400454ca;
export const TUNGETFEATURES = 0x800454cf;
/** Takes its flags by value, not through a pointer. */
export const TUNSETOFFLOAD = 0x400454d0;
export const TUNGETVNETHDRSZ = 0x800454d7;
export const TUNSETVNETHDRSZ = 0x400454d8;

export const IFF_TUN = 0x0001;
export const IFF_MULTI_QUEUE = 0x0100;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;

export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
// Linux 6.2+; Debian 12's headers lack them.
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

// <linux/virtio_net.h>: struct virtio_net_hdr (10 bytes; 12 with num_buffers).
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
// Linux 6.2+; missing from Debian 12's headers.
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

// <errno.h>: the values the dataplane branches on.
export const EINTR = 4;
export const EIO = 5;
export const EBADF = 9;
export const EAGAIN = 11;
export const EINVAL = 22;
export const ENODEV = 19;
export const EBADFD = 77;
