import { execFileSync } from 'node:child_process';

/**
 * Network namespaces for tests that need root. Every name starts with a prefix that
 * holds the test area and the process id (`egwtun1234-a`), so parallel runs and other
 * people's namespaces are never touched; `removeAll()` deletes what this set created and
 * is safe to call twice (afterAll + finally). Deleting a namespace deletes the links in
 * it (veth peers included), so no link outlives its namespace.
 */
export class TestNamespaces {
  readonly prefix: string;
  private readonly created: string[] = [];

  constructor(area: string) {
    this.prefix = `egw${area}${process.pid}`;
  }

  /**
   * Creates `<prefix>-<suffix>` with its loopback up and IPv6 off (the tests speak IPv4;
   * IPv6 autoconfiguration chatter, MLD and router solicitations, would otherwise show
   * up in packet counts); returns the name.
   */
  add(suffix: string): string {
    const name = `${this.prefix}-${suffix}`;
    ip('netns', 'add', name);
    this.created.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    for (const scope of ['all', 'default']) {
      this.exec(name, 'sysctl', '-qw', `net.ipv6.conf.${scope}.disable_ipv6=1`);
    }
    return name;
  }

  /** `ip -n NS ...`, output as text. */
  ip(ns: string, ...args: string[]): string {
    return ip('-n', ns, ...args);
  }

  /** `ip -j -n NS ...`, parsed. */
  ipJson<T>(ns: string, ...args: string[]): T {
    const out = ip('-j', '-n', ns, ...args).trim();
    return (out === '' ? [] : JSON.parse(out)) as T;
  }

  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, command: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', ns, command, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
  }

  removeAll(): void {
    for (const name of this.created.splice(0).reverse()) {
      try {
        ip('netns', 'del', name);
      } catch {
        // already gone
      }
    }
  }
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export const isRoot = process.getuid?.() === 0;
