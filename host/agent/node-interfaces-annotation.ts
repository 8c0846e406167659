/**
 * The `egressgw.io/interfaces` annotation: how each agent tells the others which
 * interfaces and IPv4 addresses its node has (compile() needs them for the primary-ip
 * address, the VIP subnet check and static egress IPs of other nodes, which no core field
 * of a Node carries).
 *
 * Format: JSON, a list of {name, addresses}, addresses as "a.b.c.d/len" with host bits
 * (the address itself, not its network), primary address first, as readOwnInterfaces()
 * reads them:
 *
 *   [{"name":"eth0","addresses":["172.18.18.10/24","172.18.18.50/24"]}]
 *
 * Reading is strict: anything else (unknown fields, a bad address, a repeated interface)
 * makes the whole annotation unusable, and the node's interfaces count as unknown. Every
 * agent parses every node's annotation, so a lenient reader would let one node's bug
 * become a different view of the cluster on every agent.
 */
import { CoreV1Api, type KubeConfig, PatchStrategy, type V1Node } from '@kubernetes/client-node';
import type { NodeInterface } from '../control/inputs.ts';
import { httpStatusOf, KubeError, serverMessage } from '../k8s/errors.ts';
import { requestOptions } from '../k8s/request-options.ts';
import { CidrError, parseCidr } from '../model/cidr.ts';

export const INTERFACES_ANNOTATION = 'egressgw.io/interfaces';

/** Linux IFNAMSIZ is 16 with the terminating NUL (include/uapi/linux/if.h). */
const MAX_INTERFACE_NAME_LEN = 15;

export type InterfacesParse =
  | { ok: true; interfaces: NodeInterface[] }
  | { ok: false; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Linux's dev_valid_name(): 1-15 bytes, no '/', ':' or whitespace, not "." or "..". */
function interfaceNameProblem(name: string): string | null {
  if (name.length === 0 || Buffer.byteLength(name) > MAX_INTERFACE_NAME_LEN)
    return `must be 1 to ${MAX_INTERFACE_NAME_LEN} bytes long`;
  if (name === '.' || name === '..') return 'is not a valid interface name';
  if (/[/:\s]/.test(name)) return "must not contain '/', ':' or whitespace";
  return null;
}

/** "a.b.c.d/len", the length required (a bare address is ambiguous here). */
function addressProblem(text: string): string | null {
  if (!text.includes('/')) return 'must be an address with its prefix length, a.b.c.d/len';
  try {
    parseCidr(text);
    return null;
  } catch (error) {
    if (!(error instanceof CidrError)) throw error;
    return error.message;
  }
}

function readInterface(entry: unknown, path: string): NodeInterface | string {
  if (!isRecord(entry)) return `${path}: must be an object {name, addresses}`;
  for (const key of Object.keys(entry)) {
    if (key !== 'name' && key !== 'addresses')
      return `${path}: unknown field ${JSON.stringify(key)}`;
  }
  const { name, addresses } = entry;
  if (typeof name !== 'string') return `${path}.name: must be a string`;
  const nameProblem = interfaceNameProblem(name);
  if (nameProblem !== null) return `${path}.name: ${JSON.stringify(name)} ${nameProblem}`;
  if (!Array.isArray(addresses)) return `${path}.addresses: must be a list of strings`;
  const seen = new Set<string>();
  for (const [i, address] of addresses.entries()) {
    const at = `${path}.addresses[${i}]`;
    if (typeof address !== 'string') return `${at}: must be a string`;
    const problem = addressProblem(address);
    if (problem !== null) return `${at}: ${problem}`;
    if (seen.has(address)) return `${at}: ${address} is listed twice`;
    seen.add(address);
  }
  return { name, addresses: [...(addresses as string[])] };
}

/** Reads the annotation's value; never throws. */
export function parseInterfacesAnnotation(text: string): InterfacesParse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  if (!Array.isArray(parsed)) return { ok: false, reason: 'must be a JSON list' };
  const interfaces: NodeInterface[] = [];
  const names = new Set<string>();
  for (const [i, entry] of parsed.entries()) {
    const read = readInterface(entry, `[${i}]`);
    if (typeof read === 'string') return { ok: false, reason: read };
    if (names.has(read.name))
      return { ok: false, reason: `[${i}].name: ${read.name} is listed twice` };
    names.add(read.name);
    interfaces.push(read);
  }
  return { ok: true, interfaces };
}

/** The annotation's value for `interfaces`; parseInterfacesAnnotation() reads it back. */
export function formatInterfacesAnnotation(interfaces: readonly NodeInterface[]): string {
  return JSON.stringify(interfaces.map((i) => ({ name: i.name, addresses: [...i.addresses] })));
}

/** The annotation as found on a node: absent, or its value. */
export function interfacesAnnotationOf(node: V1Node | undefined): string | undefined {
  return node?.metadata?.annotations?.[INTERFACES_ANNOTATION];
}

export interface InterfacesPublisherOptions {
  nodeName: string;
  /** This node as the informer cache holds it now (undefined before it is seen). */
  cachedNode: () => V1Node | undefined;
  requestTimeoutMs?: number;
}

/**
 * Keeps this node's annotation equal to its interfaces: a JSON merge patch on the Node
 * (RFC 7386: only this annotation changes, whoever owns the others), sent only when the
 * value differs from the cached node's. Right after a write the cache may still show the
 * old value; the same value is then not written again until the cache moves on.
 */
export class InterfacesPublisher {
  readonly #api: CoreV1Api;
  readonly #nodeName: string;
  readonly #cachedNode: () => V1Node | undefined;
  readonly #requestTimeoutMs: number;
  #lastWrite: { value: string; cachedVersion: string | undefined } | null = null;
  /** Patches sent (for tests and metrics). */
  writes = 0;

  constructor(kc: KubeConfig, options: InterfacesPublisherOptions) {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#nodeName = options.nodeName;
    this.#cachedNode = options.cachedNode;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /**
   * Writes the annotation if it changed; true when a patch was sent. Throws KubeError
   * EGW_K8S_REQUEST when the patch fails (the next call tries again).
   */
  async publish(interfaces: readonly NodeInterface[]): Promise<boolean> {
    const value = formatInterfacesAnnotation(interfaces);
    const cached = this.#cachedNode();
    if (interfacesAnnotationOf(cached) === value) return false;
    const cachedVersion = cached?.metadata?.resourceVersion;
    if (this.#lastWrite?.value === value && this.#lastWrite.cachedVersion === cachedVersion) {
      return false;
    }
    try {
      await this.#api.patchNode(
        {
          name: this.#nodeName,
          body: { metadata: { annotations: { [INTERFACES_ANNOTATION]: value } } },
        },
        requestOptions({
          timeoutMs: this.#requestTimeoutMs,
          contentType: PatchStrategy.MergePatch,
        }),
      );
    } catch (error) {
      const status = httpStatusOf(error);
      throw new KubeError(
        'EGW_K8S_REQUEST',
        `cannot annotate node ${this.#nodeName} with its interfaces: ${serverMessage(error)}`,
        { ...(status !== undefined ? { httpStatus: status } : {}), cause: error },
      );
    }
    this.writes++;
    this.#lastWrite = { value, cachedVersion };
    return true;
  }
}
