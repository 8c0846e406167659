/**
 * A small Kubernetes API server for tests: the REST and watch protocol of the real one
 * (discovery, list/get/create/update/patch/delete, /status, watch with resourceVersion,
 * 410 Gone, bookmarks, timeoutSeconds) over plain HTTP/1.1, so that the unmodified
 * @kubernetes/client-node talks to it through an `http://` kubeconfig.
 *
 * Fault hooks let tests make it misbehave the ways a real control plane does: drop or
 * stall watches, answer 503, hang, compact history, go away and come back on the same
 * port (the stored objects survive, as they would in etcd).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ApiError, badRequest, statusObject } from './api-error.ts';
import {
  coreVersions,
  defaultKinds,
  groupInfo,
  groupList,
  type ResourceKind,
  resourceList,
  storageKey,
} from './kinds.ts';
import type { Scope } from './managed-fields.ts';
import { isMap } from './patch.ts';
import { ResourceOps, type Target, toStored } from './resource-ops.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { metaOf, type Obj, ObjectStore } from './store.ts';
import { WatchStream } from './watch-stream.ts';

export interface FakeApiServerOptions {
  host?: string;
  /** 0 picks a free port; restarts reuse the port first bound. */
  port?: number;
  /** Period of BOOKMARK events on watches that allow them (the apiserver uses ~1 min). */
  bookmarkIntervalMs?: number;
  /** Changes kept for watch replay; older revisions get 410 Gone. */
  historyLimit?: number;
  kinds?: ResourceKind[];
  /** Called with one line per request, for debugging. */
  log?: (line: string) => void;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

interface Route {
  kind: ResourceKind;
  version: string;
  namespace: string;
  name: string | undefined;
  subresource: string | undefined;
}

export class FakeApiServer {
  readonly store: ObjectStore;
  readonly kinds: ResourceKind[];
  private readonly ops: ResourceOps;
  private readonly host: string;
  private port: number;
  private readonly bookmarkIntervalMs: number;
  private readonly log: ((line: string) => void) | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<WatchStream>();
  private unavailableUntil = 0;
  private hangUntil = 0;
  private hangTimer: NodeJS.Timeout | undefined;
  /** Requests received during a hang, never answered. */
  private readonly parked: ServerResponse[] = [];
  private readonly stalledDuringHang: WatchStream[] = [];
  /** Requests answered, by verb (`list`, `watch`, `get`, `create`, `update`, `patch`, `delete`). */
  readonly requestCounts = new Map<string, number>();

  constructor(opts: FakeApiServerOptions = {}) {
    this.store = new ObjectStore(opts.historyLimit ?? 10_000);
    this.kinds = opts.kinds ?? defaultKinds;
    this.ops = new ResourceOps(this.store);
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 0;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
    this.log = opts.log;
    this.store.onChange((c) => {
      for (const w of this.watches) w.deliver(c);
    });
    const nsKind = this.kindFor('', 'namespaces')!;
    for (const ns of DEFAULT_NAMESPACES) {
      this.ops.create(
        { kind: nsKind, version: 'v1', namespace: '' },
        { metadata: { name: ns } },
        { manager: 'kube-apiserver', dryRun: false },
      );
    }
  }

  get url(): string {
    if (!this.server) throw new Error('the API server is not running');
    return `http://${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Open watch streams, stalled ones included. */
  get openWatches(): number {
    return this.watches.size;
  }

  async start(): Promise<string> {
    if (this.server) return this.url;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this.url;
  }

  /** Closes the listener and every connection; stored objects and history are kept. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of [...this.watches]) w.abort();
    this.endHang();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    server.closeAllConnections();
    await closed;
  }

  /** stop(), wait `downMs`, start() on the same port; `compact` also forgets history. */
  async restart(opts: { downMs?: number; compact?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.compact) this.store.compact();
    if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
    await this.start();
  }

  /** Ends every open watch: cleanly (end of response) or `abrupt`ly (connection reset). */
  dropWatches(opts: { abrupt?: boolean } = {}): number {
    const all = [...this.watches];
    for (const w of all) {
      if (opts.abrupt) w.abort();
      else w.end();
    }
    return all.length;
  }

  /** Silences every open watch (no events, no bookmarks) while keeping it open. */
  stallWatches(): number {
    for (const w of this.watches) w.stalled = true;
    return this.watches.size;
  }

  /** Answers 503 to every request for `ms` (until setAvailable() when omitted). */
  setUnavailable(ms?: number, opts: { dropWatches?: boolean } = {}): void {
    this.unavailableUntil = ms === undefined ? Number.POSITIVE_INFINITY : Date.now() + ms;
    if (opts.dropWatches ?? true) this.dropWatches({ abrupt: true });
  }

  setAvailable(): void {
    this.unavailableUntil = 0;
  }

  /**
   * Stops answering for `ms` (until endHang() when omitted): new requests get no reply
   * and open watches go silent. When the hang ends, those connections are reset, as
   * after a network partition heals.
   */
  hang(ms?: number): void {
    this.hangUntil = ms === undefined ? Number.POSITIVE_INFINITY : Date.now() + ms;
    for (const w of this.watches) {
      if (!w.stalled) {
        w.stalled = true;
        this.stalledDuringHang.push(w);
      }
    }
    clearTimeout(this.hangTimer);
    if (ms !== undefined) {
      this.hangTimer = setTimeout(() => this.endHang(), ms);
      this.hangTimer.unref();
    }
  }

  endHang(): void {
    clearTimeout(this.hangTimer);
    this.hangUntil = 0;
    for (const res of this.parked.splice(0)) res.socket?.destroy();
    for (const w of this.stalledDuringHang.splice(0)) w.abort();
  }

  /** Forgets all change history: a watch from any earlier resourceVersion gets 410. */
  compact(): void {
    this.store.compact();
  }

  /**
   * Stores an object as given (status included), bypassing the create rules that would
   * reset it: how tests set up pods with IPs or Ready nodes in one step. Creates or
   * replaces; fills in uid and creationTimestamp when missing.
   */
  seed(obj: Obj): Obj {
    const apiVersion = String(obj['apiVersion'] ?? '');
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const kind = this.kinds.find(
      (k) => k.group === group && k.versions.includes(version!) && k.kind === obj['kind'],
    );
    if (!kind) throw new Error(`seed: no served kind ${String(obj['kind'])} in ${apiVersion}`);
    const copy = structuredClone(obj);
    const meta = metaOf(copy);
    if (typeof meta['name'] !== 'string') throw new Error('seed: metadata.name is required');
    if (kind.namespaced) meta['namespace'] ??= 'default';
    meta['uid'] ??= randomUUID();
    meta['creationTimestamp'] ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (kind.statusSubresource) meta['generation'] ??= 1;
    return this.store.put(storageKey(kind), toStored(copy, kind));
  }

  private count(verb: string): void {
    this.requestCounts.set(verb, (this.requestCounts.get(verb) ?? 0) + 1);
  }

  private kindFor(group: string, resource: string): ResourceKind | undefined {
    return this.kinds.find((k) => k.group === group && k.resource === resource);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const e =
      err instanceof ApiError
        ? err
        : new ApiError(
            500,
            'InternalError',
            `internal error: ${(err as Error)?.message ?? String(err)}`,
          );
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.sendJson(res, e.httpCode, e.toStatus());
  }

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES)
        throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://apiserver');
    this.log?.(`${req.method} ${url.pathname}${url.search}`);
    if (Date.now() < this.hangUntil) {
      this.parked.push(res);
      return;
    }
    if (Date.now() < this.unavailableUntil) {
      res.setHeader('Retry-After', '1');
      this.sendJson(
        res,
        503,
        statusObject(
          503,
          'ServiceUnavailable',
          'the server is currently unable to handle the request',
        ),
      );
      return;
    }
    const body = req.method === 'GET' ? '' : await this.readBody(req);
    const path = url.pathname;
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (path === '/version') {
      this.sendJson(res, 200, {
        major: '1',
        minor: '33',
        gitVersion: 'v1.33.0-egressgw-test',
        platform: `${process.platform}/${process.arch}`,
      });
      return;
    }
    const segments = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeSegment);
    const discovery = this.discovery(segments);
    if (discovery !== null) {
      if (discovery === undefined)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      this.sendJson(res, 200, discovery);
      return;
    }
    const route = this.route(segments);
    await this.serve(route, req, res, url.searchParams, body);
  }

  /** null: not a discovery path; undefined: a discovery path for something not served. */
  private discovery(seg: string[]): unknown | undefined | null {
    if (seg[0] === 'api') {
      if (seg.length === 1) return coreVersions();
      if (seg.length === 2) return resourceList(this.kinds, '', seg[1]!);
    }
    if (seg[0] === 'apis') {
      if (seg.length === 1) return groupList(this.kinds);
      if (seg.length === 2) return groupInfo(this.kinds, seg[1]!);
      if (seg.length === 3) return resourceList(this.kinds, seg[1]!, seg[2]!);
    }
    return null;
  }

  private route(seg: string[]): Route {
    let group: string;
    let rest: string[];
    let version: string;
    if (seg[0] === 'api') {
      group = '';
      version = seg[1]!;
      rest = seg.slice(2);
    } else if (seg[0] === 'apis') {
      group = seg[1]!;
      version = seg[2]!;
      rest = seg.slice(3);
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    let namespace = '';
    if (
      rest[0] === 'namespaces' &&
      rest.length >= 3 &&
      rest[2] !== 'status' &&
      rest[2] !== 'finalize'
    ) {
      namespace = rest[1]!;
      rest = rest.slice(2);
    }
    const kind = this.kindFor(group, rest[0] ?? '');
    if (
      !kind?.versions.includes(version) ||
      rest.length > 3 ||
      (namespace !== '' && !kind.namespaced)
    ) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    return { kind, version, namespace, name: rest[1], subresource: rest[2] };
  }

  private async serve(
    route: Route,
    req: IncomingMessage,
    res: ServerResponse,
    q: URLSearchParams,
    body: string,
  ): Promise<void> {
    const target: Target = { kind: route.kind, version: route.version, namespace: route.namespace };
    const method = req.method ?? 'GET';
    const dryRun = q.getAll('dryRun').includes('All');
    const manager =
      q.get('fieldManager') ?? (req.headers['user-agent'] ?? 'unknown').split('/')[0]!;
    const needsNamespace = route.kind.namespaced && route.namespace === '';
    if (route.subresource !== undefined && route.subresource !== 'status') {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const scope: Scope = route.subresource === 'status' ? 'status' : 'main';
    if (route.subresource === 'status' && !route.kind.statusSubresource) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }

    if (route.name === undefined) {
      if (method === 'GET') {
        const watch = q.get('watch');
        if (watch === '1' || watch === 'true') {
          this.count('watch');
          this.startWatch(target, res, q);
          return;
        }
        this.count('list');
        this.sendJson(
          res,
          200,
          this.ops.list(target, q.get('labelSelector'), q.get('fieldSelector')),
        );
        return;
      }
      if (method === 'POST' && !needsNamespace) {
        this.count('create');
        this.sendJson(
          res,
          dryRun ? 200 : 201,
          this.ops.create(target, parseJson(body), { manager, dryRun }),
        );
        return;
      }
      throw new ApiError(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    }
    if (needsNamespace)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const name = route.name;
    switch (method) {
      case 'GET':
        this.count('get');
        this.sendJson(res, 200, this.ops.get(target, name));
        return;
      case 'PUT':
        this.count('update');
        this.sendJson(
          res,
          200,
          this.ops.update(target, name, parseJson(body), scope, { manager, dryRun }),
        );
        return;
      case 'PATCH': {
        this.count('patch');
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const force = q.get('force') === 'true';
        if (force && contentType !== 'application/apply-patch+yaml') {
          throw new ApiError(422, 'Invalid', 'force may not be specified for non-apply patch');
        }
        const result = this.ops.patch(target, name, contentType, body, scope, {
          manager,
          dryRun,
          force,
          fieldManagerGiven: q.get('fieldManager') !== null,
        });
        this.sendJson(res, result.created ? 201 : 200, result.object);
        return;
      }
      case 'DELETE': {
        if (scope === 'status') break;
        this.count('delete');
        const removed = this.ops.delete(
          target,
          name,
          body === '' ? undefined : parseJson(body),
          dryRun,
        );
        if (!dryRun && route.kind.kind === 'Namespace' && route.kind.group === '') {
          this.ops.deleteNamespaceContents(this.kinds, name);
        }
        this.sendJson(res, 200, removed);
        return;
      }
    }
    throw new ApiError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }

  private startWatch(target: Target, res: ServerResponse, q: URLSearchParams): void {
    const matchLabels = parseLabelSelector(q.get('labelSelector'));
    const matchFields = parseFieldSelector(q.get('fieldSelector'), target.kind.fieldLabels);
    const rvText = q.get('resourceVersion') ?? '';
    if (rvText !== '' && !/^\d+$/.test(rvText))
      throw badRequest(`invalid resource version: ${rvText}`);
    const timeoutSeconds = q.get('timeoutSeconds');
    const resource = storageKey(target.kind);
    const stream = new WatchStream(
      target,
      resource,
      res,
      (o) => matchLabels(o) && matchFields(o),
      () => this.watches.delete(stream),
    );
    stream.open();
    // Replay and subscription happen in one synchronous step: no change can fall between.
    if (rvText === '' || rvText === '0') {
      const listed = this.ops.list({ ...target }, q.get('labelSelector'), q.get('fieldSelector'));
      for (const item of listed['items'] as Obj[]) stream.send('ADDED', item);
    } else {
      const changes = this.store.changesSince(resource, Number(rvText));
      if (changes === 'expired') {
        stream.expire(rvText, this.store.compactedRevision);
        return;
      }
      for (const c of changes) stream.deliver(c);
    }
    this.watches.add(stream);
    if (q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1') {
      stream.startBookmarks(this.bookmarkIntervalMs, () => this.store.currentRevision);
    }
    if (timeoutSeconds !== null && /^\d+$/.test(timeoutSeconds) && Number(timeoutSeconds) > 0) {
      stream.closeAfter(Number(timeoutSeconds) * 1000);
    }
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed path segment: ${segment}`);
  }
}

function parseJson(body: string): unknown {
  if (body.trim() === '') throw badRequest('the request body is empty');
  try {
    const v: unknown = JSON.parse(body);
    if (!isMap(v)) throw badRequest('the request body must be a JSON object');
    return v;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest(`error decoding the request body: ${(err as Error).message}`);
  }
}
