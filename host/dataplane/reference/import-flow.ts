import { type CheckedFlowRecord, checkFlowRecord } from '../flow-record.ts';
import type { FlowRecord } from '../nat-engine.ts';
import type { FlowState, FlowStatus } from './flow-state.ts';
import type { Flow, FlowTable } from './flow-table.ts';

/**
 * Flows taken from another node's export (replication to a standby), in two steps:
 * readFlowRecord judges a record on its own, addImportedFlow fits it into the table.
 * ReferenceNat.importFlows runs between them what needs the engine: lookup with expiry
 * and revalidation (an existing flow with the same tuple and translation is refreshed,
 * as periodic replication sends flows again) and eviction when the table is full (an
 * imported flow is a new flow, and README says a new flow evicts).
 *
 * A record is skipped, never partly applied, when:
 * - a field is invalid (flow-record.ts, checkFlowRecord);
 * - its egress address is not one of the current policy's (the core keeps ports per
 *   egress slot, and an address outside the table has none);
 * - it collides: its tuple belongs to a flow with another translation, the internal
 *   endpoint already has a mapping on that address with another port, or the egress
 *   port belongs to another endpoint.
 * The state byte carries the FIN directions and whether a reply was seen. A mapping
 * created by an import counts in mappings_created, as any other.
 */

/** A checked record with its state byte read into the model's flow status. */
export type ImportedFlow = Omit<CheckedFlowRecord, 'state'> & { status: FlowStatus };

/** What an import did: skipped the record, or took it (with a new mapping or not). */
export type ImportOutcome = 'skipped' | 'joined-mapping' | 'created-mapping';

/** The record's fields checked and parsed, or undefined when it is to be skipped. */
export function readFlowRecord(
  record: FlowRecord,
  egressAddresses: ReadonlySet<number>,
): ImportedFlow | undefined {
  const checked = checkFlowRecord(record);
  if (checked === undefined || !egressAddresses.has(checked.egressIP)) return undefined;
  const { state, ...fields } = checked;
  return {
    ...fields,
    status: {
      state: (state & 0x07) as FlowState,
      replied: (state & 0x08) !== 0,
      finOutbound: (state & 0x10) !== 0,
      finInbound: (state & 0x20) !== 0,
    },
  };
}

/** Whether an existing flow found by the record's tuple has the record's translation. */
export function sameTranslation(flow: Flow, imported: ImportedFlow): boolean {
  return (
    flow.mapping.egressIP === imported.egressIP && flow.mapping.egressPort === imported.egressPort
  );
}

/**
 * Adds a flow whose tuple is free. `generation` is the one it was "checked" against:
 * an older one than the engine's, so that its first packet checks it against this
 * node's policy.
 */
export function addImportedFlow(
  table: FlowTable,
  imported: ImportedFlow,
  nowMs: number,
  generation: number,
): ImportOutcome {
  const { proto, egressIP, internalIP, internalPort, egressPort } = imported;
  let mapping = table.findMapping(proto, egressIP, internalIP, internalPort);
  const outcome: ImportOutcome = mapping === undefined ? 'created-mapping' : 'joined-mapping';
  if (mapping !== undefined && mapping.egressPort !== egressPort) return 'skipped';
  if (mapping === undefined) {
    if (table.portInUse(proto, egressIP, egressPort)) return 'skipped';
    mapping = table.createMapping(proto, egressIP, internalIP, internalPort, egressPort);
  }
  table.add({
    proto,
    mapping,
    remoteIP: imported.remoteIP,
    remotePort: imported.remotePort,
    status: imported.status,
    expiryMs: (nowMs + imported.remainingMs) >>> 0,
    generation,
  });
  return outcome;
}
