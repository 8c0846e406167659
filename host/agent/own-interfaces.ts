import type { NodeInterface } from '../control/inputs.ts';
import { type Exec, exec, parseJsonOutput } from '../net/exec.ts';
import { AgentError } from './errors.ts';

interface AddressJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

/**
 * The node's interfaces and their IPv4 addresses (`ip -json address`), primary address
 * first as the kernel lists it. Loopback and the given interfaces (our TUN) are left
 * out: no egress address lives there.
 */
export async function readOwnInterfaces(
  skip: readonly string[],
  run: Exec = exec,
): Promise<NodeInterface[]> {
  const argv = ['ip', '-json', 'address', 'show'];
  let parsed: unknown;
  try {
    parsed = parseJsonOutput(argv, (await run(argv)).stdout);
  } catch (error) {
    throw new AgentError(
      'EGW_AGENT_INTERFACES',
      `cannot read the node's interfaces: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!Array.isArray(parsed)) {
    throw new AgentError('EGW_AGENT_INTERFACES', 'ip -json address show did not print a list');
  }
  const interfaces: NodeInterface[] = [];
  for (const link of parsed as AddressJson[]) {
    if (!link.ifname || link.ifname === 'lo' || skip.includes(link.ifname)) continue;
    const addresses = (link.addr_info ?? [])
      .filter(
        (a) => a.family === 'inet' && a.local && a.prefixlen !== undefined && a.scope !== 'host',
      )
      .map((a) => `${a.local}/${a.prefixlen}`);
    interfaces.push({ name: link.ifname, addresses });
  }
  return interfaces;
}
