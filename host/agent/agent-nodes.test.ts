import { describe, expect, it } from 'vitest';
import { agentLabels } from '../../deploy/src/workload.ts';
import { pod } from '../control/fixtures/cluster.ts';
import { AGENT_POD_LABELS, readyAgentNodes } from './agent-nodes.ts';

describe('readyAgentNodes', () => {
  const agent = (node: string, options = {}) =>
    pod('egressgw', `egressgw-${node}`, { ...AGENT_POD_LABELS }, null, {
      nodeName: node,
      ...options,
    });

  it('names the nodes of Ready agent pods in the agents’ namespace, once each, sorted', () => {
    expect(
      readyAgentNodes(
        [
          agent('worker-2'),
          agent('gw-1'),
          agent('gw-1'),
          agent('worker-3', { ready: false }),
          agent('worker-4', { phase: 'Pending' }),
          agent('worker-5', { namespace: 'other' }),
          pod('egressgw', 'not-an-agent', { app: 'x' }, null, { nodeName: 'worker-6' }),
        ],
        'egressgw',
      ),
    ).toEqual(['gw-1', 'worker-2']);
  });

  it('matches the labels the DaemonSet gives its pods', () => {
    for (const [key, value] of Object.entries(AGENT_POD_LABELS)) {
      expect(agentLabels[key as keyof typeof agentLabels]).toBe(value);
    }
  });
});
