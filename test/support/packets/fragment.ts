import { PacketBuildError } from './addresses.ts';
import { buildIpv4, parseIpv4 } from './ipv4.ts';

/**
 * Splits an IPv4 datagram into fragments the way RFC 791 section 3.2 ("An Example
 * Fragmentation Procedure") does: every fragment but the last carries a multiple of 8
 * data bytes and MF; options whose copied flag (0x80) is set go into every fragment,
 * the others only into the first. The datagram may itself be a fragment (re-fragmenting
 * keeps its offset and its MF on the last piece).
 */
export function fragmentDatagram(datagram: Uint8Array, maxDataPerFragment: number): Uint8Array[] {
  if (maxDataPerFragment < 8) {
    throw new PacketBuildError('BAD_FRAGMENT_SIZE', 'fragments carry at least 8 data bytes');
  }
  const header = parseIpv4(datagram);
  const data = datagram.subarray(header.headerLength, header.totalLength);
  const chunk = Math.floor(maxDataPerFragment / 8) * 8;
  const fragments: Uint8Array[] = [];
  for (let start = 0; start < data.length || start === 0; start += chunk) {
    const end = Math.min(start + chunk, data.length);
    const last = end === data.length;
    fragments.push(
      buildIpv4(
        {
          src: header.src,
          dst: header.dst,
          protocol: header.protocol,
          id: header.id,
          ttl: header.ttl,
          tos: header.tos,
          dontFragment: header.dontFragment,
          moreFragments: last ? header.moreFragments : true,
          fragmentOffset: header.fragmentOffset + start,
          options: start === 0 ? header.options : copiedOptions(header.options),
        },
        data.slice(start, end),
      ),
    );
    if (last) break;
  }
  return fragments;
}

/** The options that RFC 791 copies into every fragment (copied flag set). */
export function copiedOptions(options: Uint8Array): Uint8Array {
  const kept: number[] = [];
  let i = 0;
  while (i < options.length) {
    const kind = options[i]!;
    if (kind === 0) break; // End of Option List
    if (kind === 1) {
      i += 1; // No Operation: not copied
      continue;
    }
    const length = options[i + 1] ?? 0;
    if (length < 2 || i + length > options.length) {
      throw new PacketBuildError('BAD_OPTIONS', `option ${kind} has length ${length}`);
    }
    if ((kind & 0x80) !== 0) kept.push(...options.subarray(i, i + length));
    i += length;
  }
  return Uint8Array.from(kept);
}
