// HTTP front of one simulated member: discovery, CRUD, patch (merge, strategic subset, JSON, server-side
// apply), /status and /scale subresources, watch streams with bookmarks and 410, Table output.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, conflict } from './errors';
import { openApiGroupVersionDoc, openApiIndex } from './openapi';
import { decodeProtobuf, PROTOBUF } from './protobuf';
import { clone, jsonPatch, mergePatch, strategicMergePatch } from './patch';
import { apiGroupDoc, apiGroupListDoc, apiGroups, apiResourceListDoc, apiVersionsDoc, findResource, groupVersion, type ResourceType } from './resources';
import { fieldMatcher, labelMatcher, type KObject } from './selectors';
import type { Store, StoreEvent } from './store';
import { renderTable } from './table';

export const SIM_K8S_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-flotilla-sim' };

export interface ApiServerOptions {
  /** host:port clients reach the server at (for /api serverAddressByClientCIDRs). */
  readonly serverAddress: () => string;
  /** Period of BOOKMARK events on watches that ask for them (default 5000 ms; the real server ~60 s). */
  readonly bookmarkIntervalMs?: number;
  /** Upper bound of a watch without timeoutSeconds (default 1800 s). */
  readonly maxWatchSeconds?: number;
}

interface Route {
  res: ResourceType;
  ns?: string;
  name?: string;
  sub?: string;
}

interface Watch {
  end(): void;
  setPaused(p: boolean): void;
}

const MAX_BODY = 3 * 1024 * 1024;

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  send(res, err.code, err.status());
}

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new ApiError(413, 'RequestEntityTooLarge', 'request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(text: string, contentType: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    if (!contentType.includes('yaml')) return JSON.parse(text);
    const t = text.trimStart();
    if (t.startsWith('{')) {
      try {
        return JSON.parse(text); // apply bodies are usually JSON (a YAML subset); JSON.parse is much faster
      } catch {
        // fall through to the YAML parser
      }
    }
    return parseYaml(text);
  } catch (e) {
    throw badRequest(`the request body is not valid ${contentType.includes('yaml') ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
}

type Want = { kind: 'json' } | { kind: 'table'; version: string } | { kind: 'partial' };

function negotiate(accept: string | undefined): Want {
  for (const part of (accept ?? '').split(',')) {
    const p = part.replace(/\s+/g, '');
    if (p.includes('as=Table') && p.includes('g=meta.k8s.io')) return { kind: 'table', version: p.includes('v=v1beta1') ? 'v1beta1' : 'v1' };
    if (p.includes('as=PartialObjectMetadata') && p.includes('g=meta.k8s.io')) return { kind: 'partial' };
    if (p.startsWith('application/json') || p.startsWith('*/*') || p === '') return { kind: 'json' };
  }
  return { kind: 'json' };
}

export class ApiServer {
  private readonly watches = new Set<Watch>();
  private paused = false;

  constructor(
    private readonly store: Store,
    private readonly opts: ApiServerOptions,
  ) {}

  /** Holds (true) or releases (false) the bytes of open watch streams, as a hung server would. */
  pauseWatches(p: boolean): void {
    this.paused = p;
    for (const w of this.watches) w.setPaused(p);
  }

  closeWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.dispatch(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof ApiError) sendError(res, err);
      else sendError(res, new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (path === '/healthz' || path === '/livez' || path === '/readyz' || path.startsWith('/readyz/') || path.startsWith('/livez/')) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/version') return send(res, 200, { ...SIM_K8S_VERSION, gitCommit: '0000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64' });
    if (path === '/api') return send(res, 200, apiVersionsDoc(this.opts.serverAddress()));
    if (path === '/apis') return send(res, 200, apiGroupListDoc());
    if (path === '/api/v1') return send(res, 200, apiResourceListDoc('', 'v1'));
    if (path === '/openapi/v3') return send(res, 200, openApiIndex());
    if (path.startsWith('/openapi/v3/')) {
      const p = path.slice('/openapi/v3/'.length).split('/');
      const doc = p[0] === 'api' ? openApiGroupVersionDoc('', p[1] ?? '') : p[0] === 'apis' ? openApiGroupVersionDoc(p[1] ?? '', p[2] ?? '') : undefined;
      if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, doc);
    }
    const seg = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    if (seg[0] === 'apis' && seg.length === 2) {
      const g = apiGroups().find((x) => x.name === seg[1]);
      if (!g) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, apiGroupDoc(g.name, g.version));
    }
    if (seg[0] === 'apis' && seg.length === 3) {
      if (!apiGroups().some((x) => x.name === seg[1] && x.version === seg[2])) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, apiResourceListDoc(seg[1]!, seg[2]!));
    }
    const route = this.route(seg);
    if (!route) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const q = url.searchParams;
    const want = negotiate(req.headers.accept);
    const manager = q.get('fieldManager') || defaultManager(req.headers['user-agent']);
    const dry = q.get('dryRun');
    if (dry && dry !== 'All') throw badRequest(`dryRun: got "${dry}", expected "All"`);
    const { res: rt, name, sub } = route;
    if (sub === 'log' && rt.kind === 'Pod' && method === 'GET') return this.podLog(res, route);
    if (sub && !['status', 'scale'].includes(sub)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub === 'scale' && !rt.scale) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub === 'status' && !rt.status) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');

    if (method === 'GET' && !name) {
      if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(req, res, route, q, want);
      return this.list(res, route, q, want);
    }
    // Read the body first: store operations are synchronous, so a dry run cannot interleave with other requests.
    const raw = method === 'GET' ? Buffer.alloc(0) : await readRaw(req);
    const run = () => this.write(req, raw, res, route, q, want, manager, method);
    // DELETE carries dryRun in its DeleteOptions body (kubectl delete --dry-run=server).
    const deleteDry = method === 'DELETE' && /"dryRun"\s*:\s*\[\s*"All"/.test(raw.toString('utf8'));
    return (dry || deleteDry) && method !== 'GET' ? this.store.dryRun(run) : run();
  }

  private write(req: IncomingMessage, raw: Buffer, res: ServerResponse, route: Route, q: URLSearchParams, want: Want, manager: string, method: string): void {
    const { res: rt, ns, name, sub } = route;
    if (!name && method !== 'POST' && method !== 'DELETE') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    switch (method) {
      case 'GET': {
        const obj = this.store.mustGet(rt, ns, name!);
        if (sub === 'scale') return send(res, 200, toScale(obj));
        return send(res, 200, this.render(rt, obj, want));
      }
      case 'POST': {
        if (name) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = this.bodyOf(req, raw);
        const created = this.store.create(rt, body, ns, { manager });
        return send(res, 201, this.render(rt, created, want));
      }
      case 'PUT': {
        const body = this.bodyOf(req, raw);
        if (sub === 'scale') return send(res, 200, toScale(this.scale(rt, ns, name!, body, manager)));
        const out = this.store.update(rt, body, ns, name!, { manager, ...(sub === 'status' ? { subresource: 'status' as const } : {}) });
        return send(res, 200, this.render(rt, out, want));
      }
      case 'PATCH': {
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const body = parseBody(raw.toString('utf8'), type);
        if (type === 'application/apply-patch+yaml') {
          if (sub === 'status') throw badRequest('server-side apply to the status subresource is not supported by the simulator');
          if (!q.get('fieldManager')) throw badRequest('PATCH with application/apply-patch+yaml requires the fieldManager query parameter');
          const force = q.get('force') === 'true';
          if (sub === 'scale') {
            const replicas = (body as KObject)?.spec?.replicas;
            const out = this.store.apply(rt, { apiVersion: groupVersion(rt), kind: rt.kind, metadata: { name }, spec: { replicas } }, ns, name!, { manager, force });
            return send(res, 200, toScale(out));
          }
          const existed = !!this.store.get(rt, ns, name!);
          const out = this.store.apply(rt, body as KObject, ns, name!, { manager, force });
          return send(res, existed ? 200 : 201, this.render(rt, out, want));
        }
        const patchFn =
          type === 'application/merge-patch+json'
            ? mergePatch
            : type === 'application/strategic-merge-patch+json'
              ? strategicMergePatch
              : type === 'application/json-patch+json'
                ? jsonPatch
                : undefined;
        if (!patchFn)
          throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
        const cur = this.store.mustGet(rt, ns, name!);
        if (sub === 'scale') {
          const patched = patchFn(toScale(cur), body) as KObject;
          return send(res, 200, toScale(this.scale(rt, ns, name!, patched, manager)));
        }
        const patched = patchFn(cur, body) as KObject;
        if (typeof patched !== 'object' || patched === null) throw badRequest('the patch produced something that is not an object');
        const out = this.store.update(rt, patched, ns, name!, { manager, ...(sub === 'status' ? { subresource: 'status' as const } : {}) });
        return send(res, 200, this.render(rt, out, want));
      }
      case 'DELETE': {
        const body = parseBody(raw.toString('utf8'), 'application/json') as KObject | undefined;
        if (!name) {
          const match = this.matcher(route, q);
          const items = this.store.list(rt, ns, match);
          for (const o of items) if (this.store.get(rt, o.metadata.namespace, o.metadata.name)) this.store.delete(rt, o.metadata.namespace, o.metadata.name);
          return send(res, 200, { kind: listKind(rt), apiVersion: groupVersion(rt), metadata: { resourceVersion: String(this.store.resourceVersion) }, items });
        }
        const out = this.store.delete(rt, ns, name, body?.preconditions);
        // Like the real registry: pods and namespaces (graceful/finalized kinds) and objects kept by
        // finalizers answer with the object, everything else with a Success Status naming what was deleted.
        if (rt.kind === 'Pod' || rt.kind === 'Namespace' || out.metadata.deletionTimestamp) return send(res, 200, this.render(rt, out, want));
        return send(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.plural, uid: out.metadata.uid },
        });
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `method ${method} is not allowed`);
    }
  }

  /** A POST/PUT body: JSON, YAML, or (for kubectl's typed clients) protobuf for a few kinds. */
  private bodyOf(req: IncomingMessage, raw: Buffer): KObject {
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith(PROTOBUF)) return decodeProtobuf(raw);
    return parseBody(raw.toString('utf8'), type) as KObject;
  }

  /** `pods/<name>/log`: a few synthetic lines (the simulator runs no containers). */
  private podLog(res: ServerResponse, route: Route): void {
    const p = this.store.mustGet(route.res, route.ns, route.name!);
    const lines = [
      `flotilla-sim: pod ${p.metadata.namespace}/${p.metadata.name} is simulated; no container runs`,
      `flotilla-sim: node=${p.spec?.nodeName ?? '<none>'} phase=${p.status?.phase ?? 'Unknown'} image=${((p.spec?.containers ?? []) as KObject[])[0]?.image ?? ''}`,
    ];
    const body = `${lines.join('\n')}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  private route(seg: string[]): Route | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (seg[0] === 'api' && seg[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = seg.slice(2);
    } else if (seg[0] === 'apis' && seg.length >= 4) {
      group = seg[1]!;
      version = seg[2]!;
      rest = seg.slice(3);
    } else return undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const r = findResource(group, version, rest[2]!);
      if (r?.namespaced) return rest.length > 5 ? undefined : { res: r, ns: rest[1], name: rest[3], sub: rest[4] };
    }
    const r = findResource(group, version, rest[0] ?? '');
    if (!r || rest.length > 3) return undefined;
    return { res: r, name: rest[1], sub: rest[2] };
  }

  private matcher(route: Route, q: URLSearchParams) {
    const l = labelMatcher(q.get('labelSelector'));
    checkFieldSelector(route.res, q.get('fieldSelector'));
    const f = fieldMatcher(q.get('fieldSelector'));
    return (o: KObject) => l(o) && f(o);
  }

  private render(rt: ResourceType, obj: KObject, want: Want): KObject {
    if (want.kind === 'table') return { ...renderTable(rt, [obj], { resourceVersion: obj.metadata.resourceVersion }), apiVersion: `meta.k8s.io/${want.version}` };
    if (want.kind === 'partial') return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
    return obj;
  }

  private list(res: ServerResponse, route: Route, q: URLSearchParams, want: Want): void {
    const all = this.store.list(route.res, route.ns, this.matcher(route, q));
    const rv = String(this.store.resourceVersion);
    const page = paginate(all, q, rv);
    const items = page.items;
    if (want.kind === 'table')
      return send(res, 200, { ...renderTable(route.res, items, { resourceVersion: rv, includeObject: q.get('includeObject') ?? undefined }), apiVersion: `meta.k8s.io/${want.version}` });
    if (want.kind === 'partial')
      return send(res, 200, {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: rv, ...page.meta },
        items: items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
      });
    send(res, 200, { kind: listKind(route.res), apiVersion: groupVersion(route.res), metadata: { resourceVersion: rv, ...page.meta }, items });
  }

  private scale(rt: ResourceType, ns: string | undefined, name: string, scale: KObject, manager: string): KObject {
    const cur = this.store.mustGet(rt, ns, name);
    const rv = scale?.metadata?.resourceVersion;
    if (rv && String(rv) !== cur.metadata.resourceVersion) throw conflict(rt, name);
    const replicas = scale?.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    const next = clone(cur);
    next.spec = { ...(next.spec ?? {}), replicas };
    return this.store.update(rt, next, ns, name, { manager });
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams, want: Want): void {
    const match = this.matcher(route, q);
    const inScope = (o: KObject | undefined) => !!o && (!route.ns || !route.res.namespaced || o.metadata?.namespace === route.ns) && match(o);
    const rvParam = q.get('resourceVersion');
    let backlog: StoreEvent[] | undefined;
    try {
      if (rvParam && rvParam !== '0') backlog = this.store.eventsSince(Number(rvParam));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // The real server answers 200 and sends one ERROR event carrying the 410 Status.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: err.status() })}\n`);
      return;
    }
    if (rvParam && Number.isNaN(Number(rvParam))) throw badRequest(`invalid resourceVersion "${rvParam}"`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    let paused = this.paused;
    const held: string[] = [];
    const write = (type: string, object: KObject) => {
      const obj = want.kind === 'table' && type !== 'BOOKMARK' && type !== 'ERROR' ? this.render(route.res, object, want) : object;
      const line = `${JSON.stringify({ type, object: obj })}\n`;
      if (paused) held.push(line);
      else res.write(line);
    };
    const deliver = (ev: StoreEvent) => {
      if (ev.res !== route.res) return;
      const now = inScope(ev.obj);
      const before = inScope(ev.prev);
      if (ev.type === 'ADDED' && now) write('ADDED', ev.obj);
      else if (ev.type === 'DELETED' && before) write('DELETED', ev.obj);
      else if (ev.type === 'MODIFIED') {
        if (now && before) write('MODIFIED', ev.obj);
        else if (now) write('ADDED', ev.obj);
        // Like the real watch cache: the object as it was (still matching), at the event's resourceVersion.
        else if (before) write('DELETED', { ...ev.prev!, metadata: { ...ev.prev!.metadata, resourceVersion: ev.obj.metadata.resourceVersion } });
      }
    };
    // Streaming lists (client-go's WatchList, used by kubectl ≥ 1.35): `sendInitialEvents=true` sends
    // the current objects as ADDED, then a BOOKMARK annotated `k8s.io/initial-events-end: "true"`.
    const initialEvents = q.get('sendInitialEvents') === 'true';
    if (backlog && !initialEvents) for (const ev of backlog) deliver(ev);
    else for (const o of this.store.list(route.res, route.ns, match)) write('ADDED', o);
    if (initialEvents) {
      write('BOOKMARK', {
        kind: route.res.kind,
        apiVersion: groupVersion(route.res),
        metadata: { resourceVersion: String(this.store.resourceVersion), annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
    const unsubscribe = this.store.subscribe(deliver);
    const timers: NodeJS.Timeout[] = [];
    if (q.get('allowWatchBookmarks') === 'true') {
      const t = setInterval(
        () => write('BOOKMARK', { kind: route.res.kind, apiVersion: groupVersion(route.res), metadata: { resourceVersion: String(this.store.resourceVersion) } }),
        this.opts.bookmarkIntervalMs ?? 5000,
      );
      timers.push(t);
    }
    const seconds = Math.min(Number(q.get('timeoutSeconds') ?? 0) || Infinity, this.opts.maxWatchSeconds ?? 1800);
    timers.push(setTimeout(() => watch.end(), seconds * 1000));

    const watch: Watch = {
      end: () => {
        cleanup();
        res.end();
      },
      setPaused: (p) => {
        paused = p;
        if (!p) for (const line of held.splice(0)) res.write(line);
      },
    };
    const cleanup = () => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.watches.delete(watch);
    };
    this.watches.add(watch);
    req.on('close', cleanup);
    res.on('close', cleanup);
  }
}

const listKind = (r: ResourceType) => `${r.kind}List`;

/** Field selectors the real server supports, beyond metadata.name and metadata.namespace (every kind). */
const FIELD_LABELS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  Node: ['spec.unschedulable'],
  Secret: ['type'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
};

/**
 * 400 for a field the real server cannot select on, with its message: kinds with their own field labels
 * say `field label not supported: <field>`, the others `"<field>" is not a known field selector: only
 * "metadata.name", "metadata.namespace"`.
 */
export function checkFieldSelector(rt: ResourceType, sel: string | null): void {
  if (!sel) return;
  for (const term of sel.split(',')) {
    const field = /^\s*([^!=]+?)\s*(==|=|!=)/.exec(term)?.[1];
    if (!field) continue; // fieldMatcher names malformed terms
    if (field === 'metadata.name' || field === 'metadata.namespace' || FIELD_LABELS[rt.kind]?.includes(field)) continue;
    throw badRequest(FIELD_LABELS[rt.kind] ? `field label not supported: ${field}` : `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
  }
}

/**
 * `limit`/`continue`: pages of the (name-ordered) list. The continue token names the last key served;
 * unlike the real server, later pages show the current state, not a snapshot at the first page.
 */
export function paginate(items: KObject[], q: URLSearchParams, rv: string): { items: KObject[]; meta: Record<string, unknown> } {
  const limit = Number(q.get('limit') ?? 0);
  const token = q.get('continue');
  let start = 0;
  if (token) {
    let after: string;
    try {
      const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { v?: string; start?: string };
      if (t.v !== 'meta.k8s.io/v1' || typeof t.start !== 'string') throw new Error('not a continue token');
      after = t.start;
    } catch {
      throw badRequest('invalid continue token: continue key is not valid: the token does not decode');
    }
    // The list is ordered by localeCompare of namespace/name (Store.list); continue after `after`.
    start = items.findIndex((o) => keyOf(o).localeCompare(after) > 0);
    if (start < 0) start = items.length;
  }
  if (!(limit > 0)) return { items: items.slice(start), meta: {} };
  const page = items.slice(start, start + limit);
  const remaining = items.length - start - page.length;
  if (remaining <= 0) return { items: page, meta: {} };
  const next = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(rv), start: keyOf(page[page.length - 1]!) })).toString('base64');
  return { items: page, meta: { continue: next, remainingItemCount: remaining } };
}

const keyOf = (o: KObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** The manager name the real server derives from a User-Agent ("kubectl/v1.32.4 (linux…)" → "kubectl"). */
export function defaultManager(ua: string | undefined): string {
  const first = (ua ?? '').split('/')[0]?.trim();
  return first && first.length > 0 ? first.slice(0, 128) : 'unknown';
}

export function toScale(obj: KObject): KObject {
  const sel = obj.spec?.selector?.matchLabels ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 1 },
    status: { replicas: obj.status?.replicas ?? 0, selector: Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',') },
  };
}

