import { describe, expect, it } from 'vitest';
import { eventFromCore, eventToCore } from './event-conversion.ts';

describe('events.k8s.io/v1 <-> core v1 Event conversion', () => {
  const core = {
    metadata: { name: 'gw.1', namespace: 'default' },
    involvedObject: { kind: 'EgressGateway', name: 'gw' },
    reason: 'ActiveNodeChanged',
    message: 'node-a',
    type: 'Normal',
    source: { component: 'egressgw', host: 'node-a' },
    reportingComponent: 'egressgw',
    reportingInstance: 'node-a',
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:01:00Z',
    count: 3,
    action: 'Elect',
  };
  const events = {
    metadata: { name: 'gw.1', namespace: 'default' },
    regarding: { kind: 'EgressGateway', name: 'gw' },
    reason: 'ActiveNodeChanged',
    note: 'node-a',
    type: 'Normal',
    deprecatedSource: { component: 'egressgw', host: 'node-a' },
    reportingController: 'egressgw',
    reportingInstance: 'node-a',
    deprecatedFirstTimestamp: '2026-01-01T00:00:00Z',
    deprecatedLastTimestamp: '2026-01-01T00:01:00Z',
    deprecatedCount: 3,
    action: 'Elect',
  };

  it('renames the fields both ways and round-trips', () => {
    expect(eventFromCore(core)).toEqual(events);
    expect(eventToCore(events)).toEqual(core);
    expect(eventToCore(eventFromCore(core))).toEqual(core);
    // Already in the stored form: unchanged (toStored is applied more than once).
    expect(eventToCore(core)).toEqual(core);
  });
});
