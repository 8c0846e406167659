// Teardown leaves nothing behind (needs root): not after a failed build, not after a
// signal or process.exit(), and leftovers of crashed runs are removed by owner pid.

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildLab, LabBuildError } from './build.ts';
import { run } from './exec.ts';
import type { Lab } from './lab.ts';
import { newLabPrefix } from './names.ts';
import { listLabNamespaces, removeLeftoverLabs } from './teardown.ts';

const isRoot = process.getuid?.() === 0;

function namespacesWithPrefix(prefix: string): string[] {
  return listLabNamespaces()
    .filter((entry) => entry.prefix === prefix)
    .map((entry) => entry.name);
}

/** A pid that no process has right now: one of our own children that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe.skipIf(!isRoot)('lab teardown (root)', () => {
  it('tears down everything when a build step fails half-way', async () => {
    const prefix = newLabPrefix();
    let seenDuringBuild: string[] = [];
    const failure = await buildLab(
      { prefix, gateways: 2, outsideServices: false },
      {
        beforeStep: (step) => {
          if (step !== 'configure') return;
          seenDuringBuild = namespacesWithPrefix(prefix);
          throw new Error('injected failure');
        },
      },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LabBuildError);
    expect(failure).toMatchObject({ code: 'EGW_LAB_BUILD_FAILED', step: 'configure', prefix });
    // The namespaces and links existed when the step failed ...
    expect(seenDuringBuild.length).toBe(1 + 2 + 1 + 2 + 1 + 1);
    // ... and are gone now.
    expect(namespacesWithPrefix(prefix)).toEqual([]);
  });

  it('kills the processes of a lab whose build fails after they started', async () => {
    const prefix = newLabPrefix();
    let sleeper: ReturnType<Lab['spawn']> | undefined;
    const failure = await buildLab(
      { prefix, gateways: 1, podsPerWorker: 1, outsideServices: false },
      {
        beforeStep: (step, lab) => {
          if (step !== 'services') return;
          sleeper = lab.spawn('gw1', ['sleep', '30']);
          throw new Error('injected failure');
        },
      },
    ).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'EGW_LAB_BUILD_FAILED', step: 'services' });
    expect(sleeper?.running).toBe(false);
    expect((await sleeper!.exited).signal).toBe('SIGKILL');
    expect(namespacesWithPrefix(prefix)).toEqual([]);
  });

  it('reports a real command failure with its step and cleans up', async () => {
    const prefix = newLabPrefix();
    const failure = await buildLab(
      { prefix, outsideServices: false },
      {
        // A bridge that is already there makes the links batch fail inside ip itself.
        beforeStep: async (step) => {
          if (step === 'links')
            await run(['ip', '-n', `${prefix}-fabric`, 'link', 'add', 'br-node', 'type', 'bridge']);
        },
      },
    ).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'EGW_LAB_BUILD_FAILED', step: 'links' });
    expect((failure as Error).message).toMatch(/exists/i);
    expect((failure as Error).cause).toMatchObject({ code: 'EGW_LAB_COMMAND_FAILED' });
    expect(namespacesWithPrefix(prefix)).toEqual([]);
  });

  it('refuses a prefix in use without touching its namespaces', async () => {
    const prefix = newLabPrefix();
    await run(['ip', 'netns', 'add', `${prefix}-fabric`]);
    try {
      await expect(buildLab({ prefix })).rejects.toMatchObject({
        code: 'EGW_LAB_BAD_SPEC',
        message: expect.stringMatching(/in use/),
      });
      expect(namespacesWithPrefix(prefix)).toEqual([`${prefix}-fabric`]);
    } finally {
      await run(['ip', 'netns', 'del', `${prefix}-fabric`], { allowFailure: true });
    }
  });

  it('is idempotent and closes the lab for further use', async () => {
    const lab = await buildLab({ gateways: 1, podsPerWorker: 1, outsideServices: false });
    await Promise.all([lab.teardown(), lab.teardown()]);
    await lab.teardown();
    expect(namespacesWithPrefix(lab.prefix)).toEqual([]);
    expect(() => lab.spawn('gw1', ['true'])).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_TORN_DOWN' }),
    );
  });

  it('removes leftovers of dead owners and keeps live labs', async () => {
    const stalePrefix = newLabPrefix(await deadPid());
    const livePrefix = newLabPrefix();
    const stale = [`${stalePrefix}-gw1`, `${stalePrefix}-outside`];
    const live = `${livePrefix}-gw1`;
    await run(['ip', '-batch', '-'], {
      input: [...stale, live].map((name) => `netns add ${name}\n`).join(''),
    });
    // A process left running inside a stale namespace, as after a SIGKILLed run.
    const orphan = spawn('ip', ['netns', 'exec', stale[0]!, 'sleep', '30'], { stdio: 'ignore' });
    const orphanExit = new Promise((resolve) =>
      orphan.once('exit', (_c, signal) => resolve(signal)),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const removed = await removeLeftoverLabs();
      expect(removed).toEqual(expect.arrayContaining(stale));
      expect(removed).not.toContain(live);
      expect(namespacesWithPrefix(stalePrefix)).toEqual([]);
      expect(namespacesWithPrefix(livePrefix)).toEqual([live]);
      expect(await orphanExit).toBe('SIGKILL');
    } finally {
      orphan.kill('SIGKILL');
      await run(['ip', '-force', '-batch', '-'], {
        input: [...stale, live].map((name) => `netns del ${name}\n`).join(''),
        allowFailure: true,
      });
    }
  });

  // A child process builds a lab, prints its prefix, then ends one way or another.
  const ends = {
    SIGTERM: 'await new Promise(() => setInterval(() => {}, 1000));',
    SIGINT: 'await new Promise(() => setInterval(() => {}, 1000));',
    'process.exit': 'process.exit(3);',
  } as const;
  for (const [how, tail] of Object.entries(ends)) {
    it(`tears the lab down when the process ends by ${how}`, async () => {
      const script = [
        `import { buildLab } from ${JSON.stringify(new URL('./build.ts', import.meta.url).pathname)};`,
        'const lab = await buildLab({ gateways: 1, podsPerWorker: 1 });',
        "console.log('PREFIX ' + lab.prefix);",
        tail,
      ].join('\n');
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const prefix = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /PREFIX (\S+)/.exec(text);
          if (match !== null) resolve(match[1]!);
        });
        void exited.then(() => reject(new Error(`child exited before building: ${text}`)));
      });
      if (how === 'SIGTERM' || how === 'SIGINT') {
        expect(namespacesWithPrefix(prefix).length).toBeGreaterThan(0);
        child.kill(how);
      }
      const exit = await exited;
      if (how === 'process.exit') expect(exit.code).toBe(3);
      else expect(exit.signal).toBe(how);
      expect(namespacesWithPrefix(prefix)).toEqual([]);
    });
  }
});
