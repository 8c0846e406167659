/** The compiled core's exports (assembly/index.ts), as WebAssembly hands them over. */
export interface CoreExports {
  controlBlockAddress(): number;
  init(): number;
  attach(): number;
  process(count: number, nowMs: number): number;
  sweepAll(nowMs: number): void;
  exportFlows(cursor: number, nowMs: number): number;
  exportedCount(): number;
  importFlows(count: number, nowMs: number): number;
  flowCount(): number;
  mappingCount(): number;
  counterCount(): number;
  countersAddress(): number;
  capacity(which: number): number;
  resolveBatch(count: number): number;
  portsInUse(slot: number, proto: number): number;
}
