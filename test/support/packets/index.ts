// Test packets: builders, parsers and checksum verification, independent of the core
// and of the reference model (they are what those two are checked against).
export * from './addresses.ts';
export * from './checksum.ts';
export * from './fragment.ts';
export * from './icmp.ts';
export * from './ipv4.ts';
export * from './tcp.ts';
export * from './udp.ts';
export * from './verify.ts';
export * from './virtio.ts';
