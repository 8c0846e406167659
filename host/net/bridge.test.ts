import { describe, expect, it } from 'vitest';
import { bridgeBatch, listFdb } from './bridge.ts';
import { fakeExec } from './fake-exec.ts';
import fdbDrifted from './fixtures/tunnel-fdb-drifted.json' with { type: 'json' };

describe('listFdb', () => {
  it('reads the recorded entries of a device, inside a namespace', async () => {
    const { exec, calls } = fakeExec(() => JSON.stringify(fdbDrifted));
    const entries = await listFdb({ exec, netns: 'ns1' }, 'egw0');
    expect(calls[0]!.argv).toEqual(['bridge', '-n', 'ns1', '-j', 'fdb', 'show', 'dev', 'egw0']);
    expect(entries).toHaveLength(6);
    expect(entries[3]).toMatchObject({ mac: '0e:77:00:00:00:01', port: 4790, vni: 7 });
  });

  it('reads empty output as no entries', async () => {
    const { exec } = fakeExec(() => '');
    expect(await listFdb({ exec, netns: null }, 'egw0')).toEqual([]);
  });

  it.each(['{}', '[{"dst":"192.0.2.1","flags":[]}]', '[{"mac":"0e:77:00:00:00:01"}]', 'nope'])(
    'says EGW_NET_BAD_OUTPUT for %s',
    async (stdout) => {
      const { exec } = fakeExec(() => stdout);
      await expect(listFdb({ exec, netns: null }, 'egw0')).rejects.toMatchObject({
        code: 'EGW_NET_BAD_OUTPUT',
      });
    },
  );
});

describe('bridgeBatch', () => {
  it('sends the lines on stdin, and runs nothing for none', async () => {
    const { exec, calls } = fakeExec(() => '');
    await bridgeBatch({ exec, netns: null }, []);
    expect(calls).toEqual([]);
    await bridgeBatch({ exec, netns: null }, ['fdb del 0e:77:00:00:00:01 dev egw0 self']);
    expect(calls).toEqual([
      { argv: ['bridge', '-batch', '-'], input: 'fdb del 0e:77:00:00:00:01 dev egw0 self\n' },
    ]);
  });

  it('refuses a line with a newline in it', async () => {
    const { exec } = fakeExec(() => '');
    await expect(bridgeBatch({ exec, netns: null }, ['fdb del x\nfdb del y'])).rejects.toThrow(
      /newline/,
    );
  });
});
