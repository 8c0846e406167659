import { InvalidArgumentError } from 'commander';
import type { PortRange } from '../control/nat-policy.ts';

/** "MIN-MAX" as an inclusive port range within 1-65535. */
export function parsePortRange(text: string): PortRange {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  const portMin = Number(match?.[1]);
  const portMax = Number(match?.[2]);
  if (!match || portMin < 1 || portMax > 65535 || portMin > portMax) {
    throw new InvalidArgumentError(`"${text}" is not a port range MIN-MAX within 1-65535`);
  }
  return { portMin, portMax };
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`"${text}" is not a port within 1-65535`);
  }
  return port;
}

/**
 * For repeatable options: collects every value, and splits comma-separated ones (the
 * Helm chart passes a list as one flag). Empty items are dropped, so `--x=` is no value.
 */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ];
}

/** A VXLAN network identifier: 24 bits, 0 reserved. */
export function parseVni(text: string): number {
  const vni = Number(text);
  if (!/^\d{1,8}$/.test(text) || vni < 1 || vni > 0xffffff) {
    throw new InvalidArgumentError(`"${text}" is not a VXLAN network identifier within 1-16777215`);
  }
  return vni;
}

/** An MTU for the tunnel: at least IPv4's 576, at most 65535. */
export function parseMtu(text: string): number {
  const mtu = Number(text);
  if (!/^\d{3,5}$/.test(text) || mtu < 576 || mtu > 65535) {
    throw new InvalidArgumentError(`"${text}" is not an MTU within 576-65535`);
  }
  return mtu;
}
