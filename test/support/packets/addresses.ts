/**
 * Dotted-quad IPv4 addresses for test packets. Kept apart from the host's own parser on
 * purpose: these helpers are the oracle the core and the reference model are checked
 * against, so they share no code with either.
 */

export class PacketBuildError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** "10.0.0.1" -> 0x0a000001. */
export function ipToU32(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new PacketBuildError('BAD_ADDRESS', `not an IPv4 address: ${ip}`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) {
      throw new PacketBuildError('BAD_ADDRESS', `not an IPv4 address: ${ip}`);
    }
    value = value * 256 + Number(part);
  }
  return value;
}

export function u32ToIp(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

export function ipToBytes(ip: string): Uint8Array {
  const value = ipToU32(ip);
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

export function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | readU16(bytes, offset + 2)) >>> 0;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  writeU16(bytes, offset, value >>> 16);
  writeU16(bytes, offset + 2, value & 0xffff);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
