import { describe, expect, it } from 'vitest';
import { exec, inNamespace, NetCommandError, parseJsonOutput } from './exec.ts';

describe('exec', () => {
  it('returns stdout and feeds stdin', async () => {
    expect(await exec(['cat'], { input: 'hello\n' })).toEqual({ stdout: 'hello\n', stderr: '' });
  });

  it('fails with the exit status and stderr', async () => {
    const failure = exec(['sh', '-c', 'echo broken >&2; exit 3']);
    await expect(failure).rejects.toBeInstanceOf(NetCommandError);
    await expect(failure).rejects.toMatchObject({
      code: 'EGW_NET_COMMAND_FAILED',
      exitCode: 3,
      stderr: 'broken\n',
      command: ['sh', '-c', 'echo broken >&2; exit 3'],
    });
    await expect(failure).rejects.toThrow(/exit status 3: broken/);
  });

  it('tells a missing program apart', async () => {
    await expect(exec(['/nonexistent/egw-tool'])).rejects.toMatchObject({
      code: 'EGW_NET_COMMAND_MISSING',
    });
    await expect(exec([])).rejects.toMatchObject({ code: 'EGW_NET_COMMAND_MISSING' });
  });

  it('kills a program that does not answer in time', async () => {
    await expect(exec(['sleep', '5'], { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'EGW_NET_COMMAND_TIMEOUT',
    });
  });
});

describe('helpers', () => {
  it('prefixes ip netns exec only for a named namespace', () => {
    expect(inNamespace({ exec, netns: null }, ['nft', 'list'])).toEqual(['nft', 'list']);
    expect(inNamespace({ exec, netns: 'n1' }, ['nft'])).toEqual([
      'ip',
      'netns',
      'exec',
      'n1',
      'nft',
    ]);
  });

  it('names the command when its output is not JSON', () => {
    expect(() => parseJsonOutput(['ip', '-j'], 'oops')).toThrow(
      expect.objectContaining({ code: 'EGW_NET_BAD_OUTPUT', command: ['ip', '-j'] }),
    );
  });
});
