import { describe, expect, it } from 'vitest';
import { type SeedFile, seedObject, seedObjects } from './fixtures/seed-objects.ts';
import { validateObject } from './validate.ts';

const seedFiles: SeedFile[] = [
  'deckhouse-seed.en.yaml',
  'deckhouse-seed.ru.yaml',
  'deckhouse-stronghold-seed.en.yaml',
  'antrea-seed.yaml',
];

/** A deep copy of a seed object with `change` applied, so each case differs in one place. */
function edited(
  file: SeedFile,
  kind: string,
  name: string,
  // biome-ignore lint/suspicious/noExplicitAny: each case reaches into a different nested field
  change: (o: any) => void,
  index = 0,
): unknown {
  const object = structuredClone(seedObject(file, kind, name, index));
  change(object);
  return object;
}

function issuesOf(object: unknown) {
  const result = validateObject(object);
  if (result === null) throw new Error('not one of our kinds');
  return result.issues.map((i) => ({ reason: i.reason, severity: i.severity, message: i.message }));
}

describe('the seeds’ examples', () => {
  for (const file of seedFiles) {
    it(`${file}: every example is accepted without any issue`, () => {
      const objects = seedObjects(file);
      expect(objects.length).toBeGreaterThanOrEqual(3);
      for (const object of objects) {
        const result = validateObject(object);
        expect(result, JSON.stringify(object)).not.toBeNull();
        expect(result!.issues).toEqual([]);
        expect(result!.typed).not.toBeNull();
      }
    });
  }

  it('reads the fields the seeds give', () => {
    const vip = validateObject(
      seedObject('deckhouse-seed.en.yaml', 'EgressGateway', 'egress-gw', 1),
    );
    expect(vip?.typed).toMatchObject({
      kind: 'EgressGateway',
      object: {
        spec: { sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: '172.18.18.242' } } },
      },
    });
    const egress = validateObject(seedObject('antrea-seed.yaml', 'Egress', 'egress-prod-web'));
    expect(egress?.typed).toMatchObject({
      kind: 'Egress',
      object: { spec: { egressIP: '10.10.0.8' }, status: { egressNode: 'node01' } },
    });
  });

  it('accepts creationTimestamp: null, as kubectl writes it into files', () => {
    const gateway = edited('deckhouse-seed.en.yaml', 'EgressGateway', 'egress-gw', (o) => {
      o.metadata.creationTimestamp = null;
    });
    expect(issuesOf(gateway)).toEqual([]);
  });

  it('serves the Antrea kinds as v1beta1 too', () => {
    const pool = edited('antrea-seed.yaml', 'ExternalIPPool', 'external-ip-pool', (o) => {
      o.apiVersion = 'crd.antrea.io/v1beta1';
    });
    expect(issuesOf(pool)).toEqual([]);
  });
});

describe('schema rejections', () => {
  it('an unserved version names the served ones', () => {
    const pool = edited('antrea-seed.yaml', 'ExternalIPPool', 'external-ip-pool', (o) => {
      o.apiVersion = 'crd.antrea.io/v1';
    });
    expect(issuesOf(pool)).toEqual([
      {
        reason: 'SchemaViolation',
        severity: 'error',
        message:
          'apiVersion: "crd.antrea.io/v1" is not one of crd.antrea.io/v1alpha2, crd.antrea.io/v1beta1',
      },
    ]);
  });

  it('an unknown mode', () => {
    const gateway = edited('deckhouse-seed.en.yaml', 'EgressGateway', 'egress-gw', (o) => {
      o.spec.sourceIP.mode = 'PrimaryIP';
    });
    expect(issuesOf(gateway)).toEqual([
      {
        reason: 'SchemaViolation',
        severity: 'error',
        message:
          'spec.sourceIP.mode: "PrimaryIP" is not one of PrimaryIPFromEgressGatewayNodeInterface, VirtualIPAddress',
      },
    ]);
  });

  it('an unknown field (a typo) is named', () => {
    const policy = edited(
      'deckhouse-seed.en.yaml',
      'EgressGatewayPolicy',
      'egress-gw-policy',
      (o) => {
        o.spec.destinationCIDR = o.spec.destinationCIDRs;
        delete o.spec.destinationCIDRs;
      },
    );
    expect(issuesOf(policy).map((i) => i.message)).toEqual([
      'spec.destinationCIDRs: required field is missing',
      'spec: unknown field "destinationCIDR"',
    ]);
  });

  it('a label value of the wrong type, with the label key quoted in the path', () => {
    const gateway = edited('deckhouse-seed.en.yaml', 'EgressGateway', 'egress-gw', (o) => {
      o.spec.nodeSelector['node-role.deckhouse.io/egress'] = true;
    });
    expect(issuesOf(gateway).map((i) => i.message)).toEqual([
      'spec.nodeSelector["node-role.deckhouse.io/egress"]: must be string, got true',
    ]);
  });

  it('a bad VIP is InvalidIP with cidr.ts’s explanation', () => {
    const gateway = edited(
      'deckhouse-seed.en.yaml',
      'EgressGateway',
      'egress-gw',
      (o) => {
        o.spec.sourceIP.virtualIPAddress.ip = '172.18.18.256';
      },
      1,
    );
    expect(issuesOf(gateway)).toEqual([
      {
        reason: 'InvalidIP',
        severity: 'error',
        message:
          'spec.sourceIP.virtualIPAddress.ip: invalid IPv4 address "172.18.18.256": octet 256 is above 255',
      },
    ]);
  });

  it('a bad destination CIDR is InvalidCIDR', () => {
    const policy = edited(
      'deckhouse-seed.en.yaml',
      'EgressGatewayPolicy',
      'egress-gw-policy',
      (o) => {
        o.spec.destinationCIDRs = ['0.0.0.0/0', '10.0.0.0/33'];
      },
    );
    expect(issuesOf(policy)).toEqual([
      {
        reason: 'InvalidCIDR',
        severity: 'error',
        message:
          'spec.destinationCIDRs[1]: invalid IPv4 CIDR "10.0.0.0/33": prefix length "33" is not a number from 0 to 32',
      },
    ]);
  });

  it('a pool range in both forms, or in half of one, gets one message each', () => {
    const pool = edited('antrea-seed.yaml', 'ExternalIPPool', 'prod-external-ip-pool', (o) => {
      o.spec.ipRanges = [
        { cidr: '10.10.1.0/28', start: '10.10.1.1' },
        { start: '10.10.0.2' },
        { start: '10.10.0.2', end: '10.10.0.3' },
      ];
    });
    expect(issuesOf(pool).map((i) => i.message)).toEqual([
      'spec.ipRanges[0]: give exactly one form: Either cidr, or start and end (inclusive).',
      'spec.ipRanges[1]: give exactly one form: Either cidr, or start and end (inclusive).',
    ]);
  });

  it('an empty policy selector list and a missing gateway name', () => {
    const policy = edited(
      'deckhouse-seed.en.yaml',
      'EgressGatewayPolicy',
      'egress-gw-policy',
      (o) => {
        o.spec.selectors = [];
        delete o.spec.egressGatewayName;
      },
    );
    expect(issuesOf(policy).map((i) => i.message)).toEqual([
      'spec.egressGatewayName: required field is missing',
      'spec.selectors: needs at least 1 item',
    ]);
  });

  it('an object without a name still gets checked, and reports a null name', () => {
    const egress = edited('antrea-seed.yaml', 'Egress', 'egress-prod', (o) => {
      delete o.metadata.name;
    });
    const result = validateObject(egress);
    expect(result?.name).toBeNull();
    expect(result?.issues.map((i) => i.message)).toEqual([
      'metadata.name: required field is missing',
    ]);
  });

  it('objects of other kinds or groups are not ours', () => {
    expect(
      validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }),
    ).toBeNull();
    expect(
      validateObject({ apiVersion: 'cilium.io/v2', kind: 'Egress', metadata: { name: 'x' } }),
    ).toBeNull();
    expect(validateObject(null)).toBeNull();
    expect(validateObject('EgressGateway')).toBeNull();
  });
});

describe('the status', () => {
  it('a status that does not fit is dropped with a warning; the object stays usable', () => {
    const egress = edited('antrea-seed.yaml', 'Egress', 'egress-prod', (o) => {
      o.status = { egressIP: 'garbage', egressNode: 'node-4' };
    });
    const result = validateObject(egress)!;
    expect(result.typed?.object).not.toHaveProperty('status');
    expect(result.issues).toEqual([
      {
        reason: 'InvalidIP',
        severity: 'warning',
        message:
          'status.egressIP: invalid IPv4 address "garbage": expected four decimal octets a.b.c.d ' +
          'without leading zeros (the status is ignored)',
      },
    ]);
  });

  it('a status that fits is kept', () => {
    const egress = seedObject('antrea-seed.yaml', 'Egress', 'egress-prod-web');
    expect(validateObject(egress)?.typed?.object).toHaveProperty('status', {
      egressNode: 'node01',
    });
  });
});

describe('semantic checks', () => {
  it('VirtualIPAddress mode without virtualIPAddress', () => {
    const gateway = edited(
      'deckhouse-seed.en.yaml',
      'EgressGateway',
      'egress-gw',
      (o) => {
        delete o.spec.sourceIP.virtualIPAddress;
      },
      1,
    );
    expect(issuesOf(gateway)).toEqual([
      {
        reason: 'MissingField',
        severity: 'error',
        message: 'spec.sourceIP.virtualIPAddress: required in mode VirtualIPAddress (give ip)',
      },
    ]);
  });

  it('PrimaryIPFromEgressGatewayNodeInterface mode without its interface', () => {
    const gateway = edited('deckhouse-seed.en.yaml', 'EgressGateway', 'egress-gw', (o) => {
      delete o.spec.sourceIP.primaryIPFromEgressGatewayNodeInterface;
    });
    expect(issuesOf(gateway)).toEqual([
      {
        reason: 'MissingField',
        severity: 'error',
        message:
          'spec.sourceIP.primaryIPFromEgressGatewayNodeInterface: required in mode ' +
          'PrimaryIPFromEgressGatewayNodeInterface (give interfaceName)',
      },
    ]);
  });

  it.each([
    ['0.0.0.0', 'in 0.0.0.0/8 ("this network")'],
    ['127.0.0.1', 'a loopback address'],
    ['224.0.0.5', 'a multicast address'],
    ['255.255.255.255', 'reserved or broadcast (240.0.0.0/4)'],
  ])('a VIP of %s is not a source address', (ip, what) => {
    const gateway = edited(
      'deckhouse-seed.en.yaml',
      'EgressGateway',
      'egress-gw',
      (o) => {
        o.spec.sourceIP.virtualIPAddress.ip = ip;
      },
      1,
    );
    expect(issuesOf(gateway)).toEqual([
      {
        reason: 'InvalidIP',
        severity: 'error',
        message: `spec.sourceIP.virtualIPAddress.ip: ${ip} is ${what}, not usable as a source address`,
      },
    ]);
  });

  it('an Egress with neither egressIP nor externalIPPool', () => {
    const egress = edited('antrea-seed.yaml', 'Egress', 'egress-prod', (o) => {
      delete o.spec.egressIP;
    });
    expect(issuesOf(egress)).toEqual([
      {
        reason: 'MissingField',
        severity: 'error',
        message: 'spec: give egressIP, externalIPPool, or both (the IP must lie in the pool)',
      },
    ]);
  });

  it('a pool range with start above end', () => {
    const pool = edited('antrea-seed.yaml', 'ExternalIPPool', 'external-ip-pool', (o) => {
      o.spec.ipRanges[0] = { start: '10.10.0.20', end: '10.10.0.11' };
    });
    expect(issuesOf(pool)).toEqual([
      {
        reason: 'InvalidRange',
        severity: 'error',
        message: 'spec.ipRanges[0]: start 10.10.0.20 is above end 10.10.0.11',
      },
    ]);
  });

  it('overlapping ranges in a pool, named in spec order', () => {
    const pool = edited('antrea-seed.yaml', 'ExternalIPPool', 'prod-external-ip-pool', (o) => {
      o.spec.ipRanges.push({ cidr: '10.10.0.8/29' });
    });
    expect(issuesOf(pool)).toEqual([
      {
        reason: 'OverlappingRanges',
        severity: 'error',
        message:
          'spec.ipRanges[0] (10.10.0.2-10.10.0.10) and spec.ipRanges[2] (10.10.0.8/29) overlap at 10.10.0.8',
      },
    ]);
  });

  it('ranges that only touch do not overlap', () => {
    const pool = edited('antrea-seed.yaml', 'ExternalIPPool', 'prod-external-ip-pool', (o) => {
      o.spec.ipRanges.push({ start: '10.10.0.11', end: '10.10.0.255' });
    });
    expect(issuesOf(pool)).toEqual([]);
  });

  it('selector expressions whose values do not fit the operator', () => {
    const egress = edited('antrea-seed.yaml', 'Egress', 'egress-prod-web', (o) => {
      o.spec.appliedTo.podSelector.matchExpressions = [
        { key: 'tier', operator: 'In', values: [] },
        { key: 'canary', operator: 'DoesNotExist', values: ['yes'] },
        { key: 'track', operator: 'NotIn', values: ['beta'] },
      ];
    });
    expect(issuesOf(egress)).toEqual([
      {
        reason: 'InvalidSelector',
        severity: 'error',
        message:
          'spec.appliedTo.podSelector.matchExpressions[0]: operator In needs at least one value',
      },
      {
        reason: 'InvalidSelector',
        severity: 'error',
        message:
          'spec.appliedTo.podSelector.matchExpressions[1]: operator DoesNotExist takes no values',
      },
    ]);
  });

  it('a CIDR with host bits set is a warning: the object stays usable', () => {
    const policy = edited(
      'deckhouse-seed.en.yaml',
      'EgressGatewayPolicy',
      'egress-gw-policy',
      (o) => {
        o.spec.excludedCIDRs = ['192.168.1.7/24'];
      },
    );
    const result = validateObject(policy)!;
    expect(result.typed).not.toBeNull();
    expect(result.issues).toEqual([
      {
        reason: 'NonCanonicalCIDR',
        severity: 'warning',
        message:
          'spec.excludedCIDRs[0]: 192.168.1.7/24 has host bits set; it is read as its network address',
      },
    ]);
  });
});
