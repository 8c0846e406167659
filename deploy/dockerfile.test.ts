import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * No Docker engine is available here, so the Dockerfile is reviewed, not built: these
 * checks hold the facts a review would check and a later edit could break.
 */
const root = resolve(import.meta.dirname, '..');
const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(resolve(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const packageJson = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions grouped by stage, continuation lines joined, comments dropped. */
function stages(text: string): Instruction[][] {
  const joined = text.replace(/\\\n/g, ' ');
  const result: Instruction[][] = [];
  for (const line of joined.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(trimmed)!;
    const instruction = { keyword: keyword!.toUpperCase(), args: args!.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') result.push([]);
    result.at(-1)!.push(instruction);
  }
  return result;
}

const [build, runtime, ...more] = stages(dockerfile);
const find = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);
const runs = (stage: Instruction[]) =>
  find(stage, 'RUN')
    .map((i) => i.args)
    .join(' && ');

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage on Node 24 Debian bookworm', () => {
    expect(more).toEqual([]);
    expect(build![0]!.args).toMatch(/^node:24-bookworm(-slim)? AS build$/);
    expect(runtime![0]!.args).toBe('node:24-bookworm-slim');
  });

  it('builds with npm and prunes dev dependencies', () => {
    const commands = runs(build!);
    expect(commands).toMatch(/npm install\b/);
    expect(commands).toMatch(/npm run build\b/);
    expect(commands).toMatch(/npm prune --omit=dev\b/);
    expect(commands.indexOf('npm run build')).toBeLessThan(commands.indexOf('npm prune'));
  });

  it('installs iproute2 and nftables in the runtime image and cleans the apt lists', () => {
    const commands = runs(runtime!);
    expect(commands).toMatch(/apt-get install -y --no-install-recommends [^&]*\biproute2\b/);
    expect(commands).toMatch(/apt-get install [^&]*\bnftables\b/);
    expect(commands).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
  });

  it('copies only built output and production modules into the runtime image', () => {
    const copies = find(runtime!, 'COPY').map((i) => i.args);
    expect(copies.every((c) => c.startsWith('--from=build '))).toBe(true);
    const sources = copies.map((c) => c.split(' ')[1]!.replace(/\/$/, ''));
    expect(sources.sort()).toEqual(
      ['/src/build/core.wasm', '/src/dist', '/src/node_modules', '/src/package.json'].sort(),
    );
    // The core is found at ../../../build/core.wasm from dist/host/dataplane/: dist/ and
    // build/ must be siblings under the working directory, as in the repository.
    const workdir = find(runtime!, 'WORKDIR').at(-1)!.args;
    const targets = copies.map((c) => resolve(workdir, c.split(' ')[2]!));
    expect(targets).toContain(resolve(workdir, 'dist'));
    expect(targets).toContain(resolve(workdir, 'build/core.wasm'));
  });

  it('runs the agent through the package bin', () => {
    const entrypoint = find(runtime!, 'ENTRYPOINT');
    expect(entrypoint).toHaveLength(1);
    const argv = JSON.parse(entrypoint[0]!.args) as string[];
    const bin = packageJson.bin['egressgw']!.replace(/^\.\//, '');
    expect(argv).toEqual(['node', bin, 'agent']);
    expect(bin).toBe('dist/host/cli/main.js');
  });

  it('holds no secrets and fetches nothing unpinned', () => {
    expect(dockerfile).not.toMatch(
      /\b(ARG|ENV)\s+\S*(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|AUTH)\S*/i,
    );
    expect(dockerfile).not.toMatch(/_authToken|\.npmrc|id_rsa|\.pem\b/);
    expect(find(build!, 'ADD')).toEqual([]);
    expect(find(runtime!, 'ADD')).toEqual([]);
    expect(dockerfile).not.toMatch(/:latest\b/);
    expect(dockerfile).not.toMatch(/curl |wget /);
  });

  it('keeps VCS data, local modules, builds and secrets out of the build context', () => {
    for (const entry of ['.git', 'node_modules', 'dist', 'build', '.env', '.npmrc', '*.pem']) {
      expect(dockerignore).toContain(entry);
    }
    // What the build stage copies must not be ignored.
    const copied = find(build!, 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1));
    for (const path of copied) {
      expect(dockerignore, path).not.toContain(path.replace(/\/$/, ''));
    }
  });
});
