/**
 * Names of lab namespaces.
 *
 * Every namespace is `<prefix>-<role>`, and every prefix is `egwlab-<pid>-<tag>`: the pid
 * of the process that built the lab and a short random tag, so that labs built at the same
 * time (parallel test files, several engineers on one machine) never collide, and so that
 * leftovers of a crashed run can be told from a live lab by asking whether that pid still
 * runs. Interface names live inside their namespace, so they are short fixed words
 * (eth0, pod1, gw1-eth0); Linux caps them at 15 bytes (IFNAMSIZ - 1).
 */

import { randomBytes } from 'node:crypto';
import { LabError } from './errors.ts';

/** Matches every lab namespace and captures the owner pid and the whole prefix. */
export const LAB_NAMESPACE_PATTERN = /^(egwlab-([1-9][0-9]*)-[0-9a-z]{4})-[0-9a-z][0-9a-z-]*$/;

const PREFIX_PATTERN = /^egwlab-[1-9][0-9]*-[0-9a-z]{4}$/;
const ROLE_PATTERN = /^[0-9a-z][0-9a-z-]*$/;
const INTERFACE_NAME = /^[0-9A-Za-z][0-9A-Za-z_.-]{0,14}$/;

/** A fresh prefix owned by this process: egwlab-<pid>-<4 random base-36 characters>. */
export function newLabPrefix(pid: number = process.pid): string {
  const tag = Array.from(randomBytes(4), (byte) => (byte % 36).toString(36)).join('');
  return `egwlab-${pid}-${tag}`;
}

/** Throws EGW_LAB_BAD_SPEC unless the prefix has the shape newLabPrefix gives. */
export function checkLabPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new LabError(
      'EGW_LAB_BAD_SPEC',
      `lab prefix ${JSON.stringify(prefix)} must look like egwlab-<pid>-<4 of [0-9a-z]>`,
    );
  }
}

export function namespaceName(prefix: string, role: string): string {
  if (!ROLE_PATTERN.test(role)) {
    throw new LabError('EGW_LAB_BAD_SPEC', `namespace role ${JSON.stringify(role)} is not a-z0-9-`);
  }
  return `${prefix}-${role}`;
}

/** The owner pid and prefix of a lab namespace name, or undefined for any other name. */
export function parseLabNamespace(name: string): { prefix: string; ownerPid: number } | undefined {
  const match = LAB_NAMESPACE_PATTERN.exec(name);
  if (match === null) return undefined;
  return { prefix: match[1]!, ownerPid: Number(match[2]) };
}

/** Throws EGW_LAB_BAD_SPEC unless `name` is a valid Linux interface name (<= 15 bytes). */
export function checkInterfaceName(name: string): void {
  if (!INTERFACE_NAME.test(name)) {
    throw new LabError(
      'EGW_LAB_BAD_SPEC',
      `interface name ${JSON.stringify(name)} must be 1-15 characters of [0-9A-Za-z_.-]`,
    );
  }
}
