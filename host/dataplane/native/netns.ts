import { NativeArgumentError } from './errors.ts';
import { close, open, setNamespace } from './ffi.ts';
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from './linux.ts';

/**
 * Runs `fn` with the calling thread inside the named network namespace
 * (`ip netns add NAME`, i.e. /run/netns/NAME) and returns to the original one after,
 * even when `fn` throws. Descriptors opened inside (TUN queues, AF_PACKET sockets) stay
 * bound to that namespace after the switch back, which is how one agent process holds
 * devices in several namespaces (tests, the lab cluster).
 *
 * `fn` must be synchronous: setns(2) moves only this thread, and anything the event
 * loop ran in between would run in the wrong namespace.
 */
export function withNetworkNamespace<T>(name: string, fn: () => T): T {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new NativeArgumentError(`invalid network namespace name ${JSON.stringify(name)}`);
  }
  const original = open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
  try {
    const target = open(`/run/netns/${name}`, O_RDONLY | O_CLOEXEC);
    try {
      setNamespace(target, CLONE_NEWNET);
    } finally {
      close(target);
    }
    try {
      const result = fn();
      if (result instanceof Promise) {
        throw new NativeArgumentError('withNetworkNamespace needs a synchronous function');
      }
      return result;
    } finally {
      setNamespace(original, CLONE_NEWNET);
    }
  } finally {
    close(original);
  }
}
