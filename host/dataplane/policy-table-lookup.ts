import { PolicyTableError } from './policy-table-errors.ts';
import {
  BYTE_LENGTH,
  DESTINATION_COUNT,
  EGRESS_COUNT,
  GROUP_COUNT,
  GROUP_COUNT_FIELD,
  GROUP_FIRST,
  GROUP_RECORD_LEN,
  HEADER_LEN,
  MAGIC,
  SOURCE_COUNT,
  TABLE_MAGIC,
  TABLE_VERSION,
  type TableCounts,
  type TableOffsets,
  tableOffsets,
  VERSION,
} from './policy-table-layout.ts';

/**
 * Reads a policy table image the way the core does (assembly/route/): the tests compare
 * it with the reference resolution, and the core's own tests can compare with it.
 * Unlike the core, which trusts the host, it checks the image and throws EGW_BAD_TABLE.
 */

export interface PolicyTableHeader extends TableCounts {
  byteLength: number;
  offsets: TableOffsets;
}

function viewOf(image: Uint8Array): DataView {
  return new DataView(image.buffer, image.byteOffset, image.byteLength);
}

export function readPolicyTableHeader(image: Uint8Array): PolicyTableHeader {
  if (image.byteLength < HEADER_LEN) {
    throw new PolicyTableError('EGW_BAD_TABLE', `image of ${image.byteLength} bytes has no header`);
  }
  const view = viewOf(image);
  const u32 = (offset: number): number => view.getUint32(offset, true);
  if (u32(MAGIC) !== TABLE_MAGIC || u32(VERSION) !== TABLE_VERSION) {
    throw new PolicyTableError(
      'EGW_BAD_TABLE',
      `magic 0x${u32(MAGIC).toString(16)} version ${u32(VERSION)}, expected "EGWT" version ${TABLE_VERSION}`,
    );
  }
  const counts: TableCounts = {
    egressCount: u32(EGRESS_COUNT),
    sourceCount: u32(SOURCE_COUNT),
    groupCount: u32(GROUP_COUNT),
    destinationCount: u32(DESTINATION_COUNT),
  };
  const offsets = tableOffsets(counts);
  const byteLength = u32(BYTE_LENGTH);
  if (byteLength !== offsets.byteLength || byteLength > image.byteLength) {
    throw new PolicyTableError(
      'EGW_BAD_TABLE',
      `byteLength ${byteLength} does not match the counts (${offsets.byteLength}) or the image (${image.byteLength})`,
    );
  }
  if (counts.sourceCount === 0) {
    throw new PolicyTableError('EGW_BAD_TABLE', 'the source array is empty');
  }
  return { ...counts, byteLength, offsets };
}

/** Value of the last start <= address among `count` u32 starts at `startsAt`. */
function searchIntervals(
  view: DataView,
  startsAt: number,
  valuesAt: number,
  count: number,
  address: number,
): number {
  // Invariant: starts[low] <= address (starts[0] is 0), and every index above `high`
  // has a start above address.
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (view.getUint32(startsAt + middle * 4, true) <= address) low = middle;
    else high = middle - 1;
  }
  return view.getUint32(valuesAt + low * 4, true);
}

/** The egress index that (src, dst) leaves through, or -1; addresses are u32. */
export function lookupPolicyTable(image: Uint8Array, src: number, dst: number): number {
  const header = readPolicyTableHeader(image);
  const { offsets } = header;
  const view = viewOf(image);
  const group = searchIntervals(
    view,
    offsets.sourceStarts,
    offsets.sourceGroups,
    header.sourceCount,
    src,
  );
  if (group === 0) return -1;
  if (group > header.groupCount) {
    throw new PolicyTableError('EGW_BAD_TABLE', `source group ${group} of ${header.groupCount}`);
  }
  const record = offsets.groups + (group - 1) * GROUP_RECORD_LEN;
  const first = view.getUint32(record + GROUP_FIRST, true);
  const count = view.getUint32(record + GROUP_COUNT_FIELD, true);
  if (count === 0 || first + count > header.destinationCount) {
    throw new PolicyTableError('EGW_BAD_TABLE', `group ${group - 1} spans ${first}+${count}`);
  }
  const egress = searchIntervals(
    view,
    offsets.destinationStarts + first * 4,
    offsets.destinationEgress + first * 4,
    count,
    dst,
  );
  if (egress > header.egressCount) {
    throw new PolicyTableError('EGW_BAD_TABLE', `egress ${egress} of ${header.egressCount}`);
  }
  return egress - 1;
}
