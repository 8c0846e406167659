/**
 * The test API server as its own process, for end-to-end tests whose agent processes
 * connect to it:
 *
 *   npx node test/support/apiserver/main.ts --port 0 [--host 127.0.0.1]
 *       [--kubeconfig-out FILE] [--bookmark-interval-ms N] [--history-limit N]
 *
 * Prints its URL (`http://HOST:PORT`) alone on the first line of stdout once it accepts
 * requests, and runs until SIGINT or SIGTERM. With --kubeconfig-out it first writes a kubeconfig pointing at
 * itself, so agents can be started with that file.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kubeconfigYaml } from './kubeconfig.ts';
import { FakeApiServer } from './server.ts';

function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) {
    process.stderr.write(`--${name} must be a non-negative integer, got "${value}"\n`);
    process.exit(2);
  }
  return Number(value);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'kubeconfig-out': { type: 'string' },
    'bookmark-interval-ms': { type: 'string' },
    'history-limit': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
  strict: true,
});

const port = intOption(values.port, 'port', 0);
if (port > 65535) {
  process.stderr.write(`--port must be at most 65535, got ${port}\n`);
  process.exit(2);
}
const server = new FakeApiServer({
  host: values.host,
  port,
  bookmarkIntervalMs: intOption(values['bookmark-interval-ms'], 'bookmark-interval-ms', 60_000),
  historyLimit: intOption(values['history-limit'], 'history-limit', 10_000),
  log: values.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
});
const url = await server.start();
if (values['kubeconfig-out']) writeFileSync(values['kubeconfig-out'], kubeconfigYaml(url));
process.stdout.write(`${url}\n`);

const shutdown = (): void => {
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
