import { describe, expect, it } from 'vitest';
import { DataplaneOnDemand } from './dataplane-on-demand.ts';

// The start itself (a TUN, the core, a worker thread) needs root and is covered by the
// end-to-end suites; here what must not start it, and what is refused.

describe('DataplaneOnDemand', () => {
  it('starts nothing for an empty policy', async () => {
    let started = 0;
    const dataplane = new DataplaneOnDemand({ tunName: 'egwtest0' }, () => started++);
    await dataplane.setPolicy({ egress: [], rules: [] });
    expect(started).toBe(0);
    expect(dataplane.current).toBeNull();
    expect(dataplane.startError).toBeNull();
    await dataplane.stop();
  });

  it('refuses a TUN name pattern, which routing could not name before the device exists', () => {
    expect(() => new DataplaneOnDemand({ tunName: 'egw%d' }, () => {})).toThrow(/literal/);
  });

  it('refuses to start once stopped', async () => {
    const dataplane = new DataplaneOnDemand({ tunName: 'egwtest1' }, () => {});
    await dataplane.stop();
    await expect(
      dataplane.setPolicy({
        egress: [{ ip: '192.0.2.1', portMin: 1024, portMax: 65535 }],
        rules: [],
      }),
    ).rejects.toThrow(/stopping/);
  });
});
