import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NftTableSpec } from './desired-state.ts';
import { NetCommandError } from './exec.ts';
import { fakeExec } from './fake-exec.ts';
import { fixturePlan } from './fixture-plan.ts';
import { listTable, type NftTableJson } from './nft.ts';
import { describeNftCommand, diffNft, reconcileNft } from './nft-reconciler.ts';

const listing = readFileSync(new URL('./fixtures/nft-applied.json', import.meta.url), 'utf8');
const desired = fixturePlan().nft!;
const [sourceSet, destinationSet] = desired.sets.slice(1).map((set) => set.name) as [
  string,
  string,
];

async function recorded(
  edit: (document: { nftables: Record<string, unknown>[] }) => void = () => {},
) {
  const document = JSON.parse(listing) as { nftables: Record<string, unknown>[] };
  edit(document);
  const { exec } = fakeExec(() => JSON.stringify(document));
  return (await listTable({ exec, netns: null }, 'inet', 'egressgw'))!;
}

const described = (observed: NftTableJson | null, spec: NftTableSpec | null) =>
  diffNft(observed, spec).map(describeNftCommand);

describe('listTable', () => {
  it('splits the recorded listing into sets, chains and rules', async () => {
    const table = await recorded();
    expect(table.sets.map((set) => set.name)).toEqual(['vips', sourceSet, destinationSet]);
    expect(table.chains.map((chain) => chain.name)).toEqual(['prerouting']);
    expect(table.rules.map((rule) => rule.comment)).toEqual(
      desired.chains[0]!.rules.map((rule) => rule.comment),
    );
    expect(table.otherObjects).toEqual([]);
  });

  it('says null for a missing table and names only that table', async () => {
    const missing = new NetCommandError(
      'EGW_NET_COMMAND_FAILED',
      ['nft'],
      1,
      'Error: No such file or directory\nlist table inet egressgw\n',
      'exit status 1',
    );
    const { exec, calls } = fakeExec(() => missing);
    expect(await listTable({ exec, netns: 'ns1' }, 'inet', 'egressgw')).toBeNull();
    expect(calls[0]!.argv).toEqual([
      'ip',
      'netns',
      'exec',
      'ns1',
      'nft',
      '-j',
      'list',
      'table',
      'inet',
      'egressgw',
    ]);
  });

  it('rejects output that is not an nft listing', async () => {
    const { exec } = fakeExec(() => '{"nope": 1}');
    await expect(listTable({ exec, netns: null }, 'inet', 'egressgw')).rejects.toMatchObject({
      code: 'EGW_NET_BAD_OUTPUT',
    });
  });
});

describe('diffNft', () => {
  it('has nothing to do on the recorded applied table', async () => {
    expect(diffNft(await recorded(), desired)).toEqual([]);
  });

  it('builds the whole table when it is missing', () => {
    const commands = described(null, desired);
    expect(commands[0]).toBe('add table egressgw');
    expect(commands.filter((c) => c === 'add rule prerouting')).toHaveLength(7);
    expect(commands).toContain(`add element ${destinationSet} (8)`);
  });

  it('deletes only our table on teardown, and nothing when it is gone', async () => {
    expect(described(await recorded(), null)).toEqual(['delete table egressgw']);
    expect(diffNft(null, null)).toEqual([]);
  });

  it('changes set elements one by one: a pod joining is one element', async () => {
    const spec = structuredClone(desired);
    spec.sets[1]!.elements = ['10.1.0.5/32', '10.1.0.9/32', '10.1.1.0/24'];
    const commands = diffNft(await recorded(), spec);
    expect(commands).toEqual([
      {
        add: {
          element: { family: 'inet', table: 'egressgw', name: sourceSet, elem: ['10.1.0.9'] },
        },
      },
    ]);
  });

  it('deletes stale elements as listed, before adding overlapping ones', async () => {
    const table = await recorded((document) => {
      const set = document.nftables.find(
        (item) => (item['set'] as { name?: string })?.name === sourceSet,
      )!['set'] as { elem: unknown[] };
      set.elem.push({ range: ['10.1.2.1', '10.1.2.6'] });
    });
    const spec = structuredClone(desired);
    spec.sets[1]!.elements = ['10.1.0.5/32', '10.1.1.0/24', '10.1.2.0/24'];
    expect(diffNft(table, spec)).toEqual([
      {
        delete: {
          element: {
            family: 'inet',
            table: 'egressgw',
            name: sourceSet,
            elem: [{ range: ['10.1.2.1', '10.1.2.6'] }],
          },
        },
      },
      {
        add: {
          element: {
            family: 'inet',
            table: 'egressgw',
            name: sourceSet,
            elem: [{ prefix: { addr: '10.1.2.0', len: 24 } }],
          },
        },
      },
    ]);
  });

  it('refills a chain whose rule was deleted behind our back', async () => {
    const table = await recorded((document) => {
      document.nftables = document.nftables.filter(
        (item) => !String((item['rule'] as { comment?: string })?.comment).startsWith('to vips'),
      );
    });
    expect(described(table, desired)).toEqual([
      'flush chain prerouting',
      ...Array(7).fill('add rule prerouting'),
    ]);
  });

  it('recreates a deleted chain', async () => {
    const table = await recorded((document) => {
      document.nftables = document.nftables.filter((item) => !('chain' in item || 'rule' in item));
    });
    expect(described(table, desired)).toEqual([
      'add chain prerouting',
      ...Array(7).fill('add rule prerouting'),
    ]);
  });

  it('replaces a chain whose hook priority was changed', async () => {
    const table = await recorded((document) => {
      const chain = document.nftables.find((item) => 'chain' in item)!['chain'] as { prio: number };
      chain.prio = 0;
    });
    expect(described(table, desired)).toEqual([
      'flush chain prerouting',
      'delete chain prerouting',
      'add chain prerouting',
      ...Array(7).fill('add rule prerouting'),
    ]);
  });

  it('drops a set no longer wanted, after emptying the chains that used it', async () => {
    const spec = structuredClone(desired);
    spec.sets = spec.sets.filter((set) => set.name !== 'vips');
    spec.chains[0]!.rules = spec.chains[0]!.rules.filter((r) => !r.comment.startsWith('to vips'));
    expect(described(await recorded(), spec)).toEqual([
      'flush chain prerouting',
      'delete set vips',
      ...Array(6).fill('add rule prerouting'),
    ]);
  });

  it('rebuilds the table in one transaction when it holds objects we never create', async () => {
    const table = await recorded((document) => {
      document.nftables.push({ counter: { family: 'inet', table: 'egressgw', name: 'x' } });
    });
    const commands = described(table, desired);
    expect(commands[0]).toBe('delete table egressgw');
    expect(commands[1]).toBe('add table egressgw');
  });
});

describe('reconcileNft', () => {
  it('writes one transaction file and runs nft -j -f on it', async () => {
    let written = '';
    const { exec, calls } = fakeExec((argv) => {
      if (argv.includes('list')) return listing.replace(/"10\.1\.0\.5",?/, '');
      written = readFileSync(argv[argv.length - 1]!, 'utf8');
      return '';
    });
    const changes = await reconcileNft({ exec, netns: null }, 'egressgw', desired);
    expect(changes).toEqual([`add element ${sourceSet} (1)`]);
    expect(calls[1]!.argv.slice(0, 3)).toEqual(['nft', '-j', '-f']);
    expect(JSON.parse(written)).toEqual({
      nftables: [
        {
          add: {
            element: { family: 'inet', table: 'egressgw', name: sourceSet, elem: ['10.1.0.5'] },
          },
        },
      ],
    });
  });
});
