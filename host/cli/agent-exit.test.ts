import { describe, expect, it } from 'vitest';
import { AgentError } from '../agent/errors.ts';
import { ConfigError } from '../config/errors.ts';
import { CoreError } from '../dataplane/core-error.ts';
import { ErrnoError } from '../dataplane/native/errors.ts';
import { ElectionError } from '../election/errors.ts';
import { KubeError } from '../k8s/errors.ts';
import { MetricsError } from '../metrics/errors.ts';
import { NetCommandError, NetError } from '../net/exec.ts';
import { type AgentCommandOptions, runAgentCommand } from './agent-command.ts';
import { agentStartupExit } from './agent-exit.ts';
import { exitCodes } from './exit-codes.ts';

/** A Node system error as fs, net and dgram raise them. */
function systemError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('agentStartupExit', () => {
  it('maps a missing /dev/net/tun to "unavailable" with the fix', () => {
    const exit = agentStartupExit(new ErrnoError('open', 2, 'ENOENT', '/dev/net/tun'));
    expect(exit.exitCode).toBe(exitCodes.unavailable);
    expect(exit.reason).toBe('EGW_ERRNO/ENOENT');
    expect(exit.message).toBe(
      'could not start: no /dev/net/tun: open (/dev/net/tun): ENOENT (errno 2); load the tun module (modprobe tun); in a pod, mount /dev/net/tun from the host',
    );
  });

  it('maps TUNSETIFF refused (no CAP_NET_ADMIN) to "no permission"', () => {
    const exit = agentStartupExit(new ErrnoError('ioctl', 1, 'EPERM', '0x400454ca'));
    expect(exit.exitCode).toBe(exitCodes.noPermission);
    expect(exit.message).toContain('no permission to create the TUN device');
    expect(exit.message).toContain('CAP_NET_ADMIN');
  });

  it('maps other errno failures by their errno name', () => {
    expect(agentStartupExit(new ErrnoError('socket', 13, 'EACCES')).exitCode).toBe(
      exitCodes.noPermission,
    );
    expect(agentStartupExit(new ErrnoError('open', 19, 'ENODEV', '/dev/x')).exitCode).toBe(
      exitCodes.unavailable,
    );
    // An errno with no meaning for the exit code stays a plain failure.
    const exit = agentStartupExit(new ErrnoError('read', 5, 'EIO'));
    expect(exit).toEqual({
      exitCode: exitCodes.failure,
      message: 'could not start: read: EIO (errno 5)',
      reason: null,
    });
  });

  it.each([
    [new AgentError('EGW_AGENT_CONFIG', 'give exactly one source'), exitCodes.usage],
    [new ElectionError('EGW_ELECTION_CONFIG', 'empty secret'), exitCodes.usage],
    [new ConfigError('EGW_CONFIG_MISSING', 'a.yaml', 'a.yaml does not exist'), exitCodes.usage],
    [new ConfigError('EGW_CONFIG_SYNTAX', 'a.yaml', 'bad YAML'), exitCodes.usage],
    [new KubeError('EGW_KUBECONFIG', 'no kubeconfig'), exitCodes.usage],
    [new CoreError('EGW_CORE_CONFIG', 'maxFlows is not a power of two'), exitCodes.usage],
    [new CoreError('EGW_CORE_MISSING', 'build/core.wasm'), exitCodes.unavailable],
    [
      new NetCommandError('EGW_NET_COMMAND_MISSING', ['nft', '-j'], null, '', 'not found'),
      exitCodes.unavailable,
    ],
    [new NetError('EGW_NET_NO_LINK', 'uplink eth1 does not exist'), exitCodes.unavailable],
    [new NetError('EGW_NET_SYSCTL', 'write net/ipv4/ip_forward=1'), exitCodes.unavailable],
    [new KubeError('EGW_SYNC_TIMEOUT', 'egresses: not synced'), exitCodes.unavailable],
    [new KubeError('EGW_K8S_REQUEST', 'connect ECONNREFUSED'), exitCodes.unavailable],
    [new ElectionError('EGW_LEASE_UNAVAILABLE', 'lease store down'), exitCodes.unavailable],
    [
      systemError('EACCES', "EACCES: permission denied, mkdir '/run/egressgw'"),
      exitCodes.noPermission,
    ],
    [systemError('EROFS', 'EROFS: read-only file system'), exitCodes.noPermission],
  ])('maps %s', (error, code) => {
    const exit = agentStartupExit(error);
    expect(exit.exitCode).toBe(code);
    expect(exit.reason).toBe((error as { code: string }).code);
    expect(exit.message).toContain(error.message);
    expect(exit.message).not.toContain('\n');
  });

  it('finds the system error a heartbeat bind or the metrics server wraps', () => {
    const bind = new ElectionError('EGW_HEARTBEAT_SOCKET', 'cannot bind 10.0.0.1:9472: in use', {
      cause: systemError('EADDRINUSE', 'bind EADDRINUSE 10.0.0.1:9472'),
    });
    const exit = agentStartupExit(bind);
    expect(exit.exitCode).toBe(exitCodes.unavailable);
    expect(exit.reason).toBe('EADDRINUSE');
    expect(exit.message).toBe(
      'could not start: the port is taken: cannot bind 10.0.0.1:9472: in use (bind EADDRINUSE 10.0.0.1:9472)',
    );
    const listen = new MetricsError('EGW_METRICS_LISTEN', 'cannot listen on 10.0.0.9:9471', {
      cause: systemError('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL'),
    });
    expect(agentStartupExit(listen).exitCode).toBe(exitCodes.usage);
  });

  it('lets a refused API request anywhere in the chain decide: RBAC is the fix', () => {
    const forbidden = new KubeError('EGW_K8S_REQUEST', 'list egresses: forbidden', {
      httpStatus: 403,
    });
    expect(agentStartupExit(forbidden).exitCode).toBe(exitCodes.noPermission);
    const timeout = new KubeError('EGW_SYNC_TIMEOUT', 'egresses: not synced after 60000 ms', {
      cause: forbidden,
    });
    const exit = agentStartupExit(timeout);
    expect(exit.exitCode).toBe(exitCodes.noPermission);
    expect(exit.reason).toBe('HTTP 403');
    expect(exit.message).toContain('not synced after 60000 ms (list egresses: forbidden)');
    // client-node's ApiException carries the status as a numeric `code`.
    const apiException = Object.assign(new Error('HTTP-Code: 404'), { code: 404 });
    expect(agentStartupExit(apiException).exitCode).toBe(exitCodes.unavailable);
  });

  it('keeps unknown errors, non-errors and cause cycles at 1 without throwing', () => {
    expect(agentStartupExit(new Error('something odd')).exitCode).toBe(exitCodes.failure);
    expect(agentStartupExit('a string').message).toBe('could not start: a string');
    expect(agentStartupExit(undefined).exitCode).toBe(exitCodes.failure);
    const looped = new Error('loop') as Error & { cause?: unknown };
    looped.cause = looped;
    expect(agentStartupExit(looped).exitCode).toBe(exitCodes.failure);
    const multiline = agentStartupExit(new Error('first\n  second'));
    expect(multiline.message).toBe('could not start: first second');
  });
});

describe('runAgentCommand when it cannot start', () => {
  const options: AgentCommandOptions = {
    nodeName: 'n1',
    inCluster: false,
    namespace: 'egressgw',
    syncTimeoutMs: 1000,
    uplink: 'eth1',
    announceInterface: [],
    tunName: 'egw0',
    clusterCidr: [],
    natPorts: { portMin: 1024, portMax: 65535 },
    nodeNatPorts: { portMin: 61000, portMax: 65535 },
    heartbeatPort: 9472,
    heartbeatSecretFile: '/nonexistent/egressgw-test/secret',
    startupGraceMs: 0,
    stateDir: '/nonexistent/egressgw-test/state',
    maxFlows: 1024,
    // Above the error line: the structured log stays out of the test output.
    logLevel: 'fatal',
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    procSysRoot: '/proc/sys',
    tunnelPort: 4789,
    tunnelVni: 7788,
    whenNoGateway: 'drop',
    holdUnknownPods: true,
  };

  const run = async (edit: Partial<AgentCommandOptions>) => {
    let stderr = '';
    const code = await runAgentCommand({ ...options, ...edit }, { write: (t) => (stderr += t) });
    return { code, stderr };
  };

  it('returns 2 with one line on stderr for an unreadable heartbeat key', async () => {
    const { code, stderr } = await run({});
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toMatch(
      /^egressgw agent: could not start: bad configuration: cannot read the heartbeat key \/nonexistent\/egressgw-test\/secret: ENOENT[^\n]*\n$/,
    );
  });

  it('returns 2 for an unknown log level, before any log exists', async () => {
    const { code, stderr } = await run({ logLevel: 'verbose' });
    expect(code).toBe(exitCodes.usage);
    expect(stderr).toMatch(/^egressgw agent: bad --log-level: .*\n$/);
  });
});
