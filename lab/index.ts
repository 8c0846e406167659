/**
 * The namespace lab: egressgw's test cluster built from network namespaces, used by the
 * end-to-end tests, the benchmark and the demo. See lab/README.md for the topology.
 */

export { type BuildOptions, type BuildStep, buildLab, LabBuildError, withLab } from './build.ts';
export { LabError, type LabErrorCode } from './errors.ts';
export type { RunOptions, RunResult } from './exec.ts';
export type { IperfCommon, IperfTcpResult, IperfUdpOptions, IperfUdpResult } from './iperf.ts';
export type { BaselineOptions, BaselinePlan, BaselineSnat } from './kernel-baseline.ts';
export type { KernelCounters } from './kernel-counters.ts';
export { Lab, type ProbeOptions } from './lab.ts';
export { LAB_NAMESPACE_PATTERN } from './names.ts';
export type { ProbeReport, SeenSource } from './outside-protocol.ts';
export type { OutsideServer, SeenEvent } from './outside-service.ts';
export type { PingOptions, PingResult } from './ping.ts';
export type { LabProcess, ProcessExit } from './process.ts';
export { type LabSpec, labSpecDefaults } from './spec.ts';
export { listLabNamespaces, removeLeftoverLabs } from './teardown.ts';
export {
  type GatewayNode,
  type LabNode,
  type LabPod,
  type LabTopology,
  labAddresses,
  labPorts,
  type WorkerNode,
} from './topology.ts';
