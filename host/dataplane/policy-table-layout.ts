/**
 * Offsets and sizes of the policy table image (assembly/README.md, "The policy table
 * image"), shared by the compiler and the decoder so that the two cannot drift apart.
 *
 * ```
 *  0  magic 0x54574745 ("EGWT")   4  version 1
 *  8  egressCount                12  sourceCount        16  groupCount
 * 20  destinationCount           24  byteLength
 * 28  egress[egressCount]        { ip u32, portMin u16, portMax u16, slot u32 }
 * ..  sourceStarts[sourceCount]  u32, ascending, sourceStarts[0] = 0
 * ..  sourceGroups[sourceCount]  u32: group index + 1, or 0 = not a source
 * ..  groups[groupCount]         { first u32, count u32 } into the destination arrays
 * ..  destinationStarts[...]     u32, ascending within each group, first = 0
 * ..  destinationEgress[...]     u32: egress index + 1, or 0 = not translated
 * ```
 * All fields little-endian.
 */

/** "EGWT" read as a little-endian u32: bytes 45 47 57 54. */
export const TABLE_MAGIC = 0x54574745;
export const TABLE_VERSION = 1;

export const MAGIC = 0;
export const VERSION = 4;
export const EGRESS_COUNT = 8;
export const SOURCE_COUNT = 12;
export const GROUP_COUNT = 16;
export const DESTINATION_COUNT = 20;
export const BYTE_LENGTH = 24;
export const HEADER_LEN = BYTE_LENGTH + 4;

/** One egress record: ip u32, portMin u16, portMax u16, slot u32. */
export const EGRESS_IP = 0;
export const EGRESS_PORT_MIN = 4;
export const EGRESS_PORT_MAX = 6;
export const EGRESS_SLOT = 8;
export const EGRESS_RECORD_LEN = EGRESS_SLOT + 4;

/** One group record: first u32, count u32. */
export const GROUP_FIRST = 0;
export const GROUP_COUNT_FIELD = 4;
export const GROUP_RECORD_LEN = GROUP_COUNT_FIELD + 4;

export interface TableCounts {
  egressCount: number;
  sourceCount: number;
  groupCount: number;
  destinationCount: number;
}

/** Where each array starts, in bytes from the start of the image. */
export interface TableOffsets {
  egress: number;
  sourceStarts: number;
  sourceGroups: number;
  groups: number;
  destinationStarts: number;
  destinationEgress: number;
  byteLength: number;
}

export function tableOffsets(counts: TableCounts): TableOffsets {
  const egress = HEADER_LEN;
  const sourceStarts = egress + counts.egressCount * EGRESS_RECORD_LEN;
  const sourceGroups = sourceStarts + counts.sourceCount * 4;
  const groups = sourceGroups + counts.sourceCount * 4;
  const destinationStarts = groups + counts.groupCount * GROUP_RECORD_LEN;
  const destinationEgress = destinationStarts + counts.destinationCount * 4;
  const byteLength = destinationEgress + counts.destinationCount * 4;
  return {
    egress,
    sourceStarts,
    sourceGroups,
    groups,
    destinationStarts,
    destinationEgress,
    byteLength,
  };
}
