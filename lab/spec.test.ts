import { describe, expect, it } from 'vitest';
import { labSpecDefaults, resolveLabSpec } from './spec.ts';

describe('lab spec', () => {
  it('fills every default', () => {
    expect(resolveLabSpec()).toEqual({ ...labSpecDefaults, prefix: undefined });
    expect(resolveLabSpec({ gateways: 3, outsideMtu: 1400 })).toMatchObject({
      gateways: 3,
      workers: 1,
      outsideMtu: 1400,
    });
    // Gateways have no pods unless asked; 0 is a valid count there (not for workers).
    expect(resolveLabSpec().podsPerGateway).toBe(0);
    expect(resolveLabSpec({ podsPerGateway: 4 }).podsPerGateway).toBe(4);
  });

  it.each([
    [{ gateways: 0 }, /gateways must be an integer from 1 to 3/],
    [{ gateways: 4 }, /gateways/],
    [{ workers: 3 }, /workers/],
    [{ podsPerWorker: 1.5 }, /podsPerWorker/],
    [{ podsPerGateway: 5 }, /podsPerGateway must be an integer from 0 to 4/],
    [{ podsPerGateway: -1 }, /podsPerGateway/],
    [{ outsideMtu: 100 }, /outsideMtu must be an integer from 576 to 9000/],
    [{ uplinkMtu: 65_536 }, /uplinkMtu/],
    [{ workerBehindRouter: 'yes' }, /workerBehindRouter must be true or false/],
    [{ gatways: 2 }, /unknown lab spec field gatways/],
    [{ prefix: 'mylab' }, /prefix "mylab" must look like egwlab-<pid>-<4 of \[0-9a-z\]>/],
  ])('rejects %j', (spec, message) => {
    expect(() => resolveLabSpec(spec as never)).toThrow(message);
    expect(() => resolveLabSpec(spec as never)).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_SPEC' }),
    );
  });
});
