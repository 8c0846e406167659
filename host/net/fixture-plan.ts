import type { GatewayPlan } from './desired-state.ts';
import {
  defaultGatewayConfig,
  type GatewayConfig,
  type GatewayRole,
  planGateway,
} from './gateway-plan.ts';

/**
 * The config and role that produced the recorded `ip -j` / `nft -j` output in fixtures/
 * (applied by GatewayNetwork in a namespace with a TUN `tun0` and a veth `up0` holding
 * 192.0.2.10/24). Unit tests diff those recordings against this plan.
 */
export const fixtureConfig: GatewayConfig = {
  ...defaultGatewayConfig,
  tunName: 'tun0',
  uplink: 'up0',
};

export const fixtureRole: GatewayRole = {
  steering: [
    {
      id: 'EgressGatewayPolicy/a',
      sources: ['10.1.0.5', '10.1.1.0/24'],
      destinations: ['0.0.0.0/0'],
      excluded: ['10.0.0.0/8'],
    },
  ],
  vips: ['192.0.2.50'],
  localEgress: [{ ip: '192.0.2.10', portMin: 61000, portMax: 65535 }],
  tunnel: null,
};

export function fixturePlan(): GatewayPlan {
  return planGateway(fixtureConfig, fixtureRole, { uplinkMtu: 1500 });
}
