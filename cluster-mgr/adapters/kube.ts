// ClusterApi over a member's kubeconfig. @kubernetes/client-node's KubeConfig loads the kubeconfig
// and authenticates requests (client certs, tokens, exec plugins via applyToHTTPSOptions); requests
// themselves go through node:http(s) so that every call has a hard timeout and an AbortSignal.
// Informers: list + watch (bookmarks), relist on 410 Gone, capped exponential backoff with jitter.
import { KubeConfig } from '@kubernetes/client-node';
import { spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { podRequests as sumPodRequests, type PodSpecResources } from '../../infra/lib/pod-requests';
import { selectorMatches, type BoundPod, type NodeSnapshot, type Taint, type UnschedulablePod } from '../core/scheduling';
import { completeLines } from '../../infra/lib/lines';
import { loadInCluster } from './in-cluster';
import { parseQuantity } from '../../infra/lib/units';
import type { ClusterApi, ClusterCapacity, KubeObject, OwnedDeployment, ProbeProblem, ProbeResult, ResourceAmounts } from '../contracts/index';

export const FIELD_MANAGER = 'cluster-mgr';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const APP_LABEL = 'flotilla.dev/federated-app';
export const APP_NAMESPACE_LABEL = 'flotilla.dev/federated-app-namespace';
export const TEMPLATE_HASH = 'flotilla.dev/template-hash';

export class KubeError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
    /** The socket/TLS error code (ECONNREFUSED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …). */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

/** A request the cluster refused: 401 (credentials rejected) or 403 (RBAC). */
export interface AuthError {
  readonly status: 401 | 403;
  readonly method: string;
  readonly path: string;
  readonly message: string;
}

export interface KubeClientOptions {
  readonly name: string;
  readonly kubeconfig: string;
  readonly context?: string;
  /** Per-request timeout for reads/writes/lists (ms). */
  readonly timeoutMs: number;
  /** Timeout of health probes (health.timeout). @default timeoutMs */
  readonly probeTimeoutMs?: number;
  /**
   * Watch idle limit: no byte (event or bookmark) for this long → reconnect. Above the API server's
   * bookmark period (1 min) so that a healthy idle watch stays open. @default 90 s
   */
  readonly watchIdleMs?: number;
  /** Backoff cap for informer errors. @default 5 s */
  readonly maxBackoffMs?: number;
  readonly log?: (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  /** Called on every 401 Unauthorized / 403 Forbidden answer (daemon/rbac-errors.ts: log line, metric, alert). */
  readonly onAuthError?: (f: AuthError) => void;
  /**
   * Use the pod's service-account credentials (adapters/in-cluster.ts) instead of `kubeconfig`:
   * KUBERNETES_SERVICE_HOST/PORT, the CA file, and the token file re-read on every request.
   */
  readonly inCluster?: boolean;
}

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  Node: 'nodes',
  Pod: 'pods',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Deployment: 'deployments',
  Lease: 'leases',
};

/** REST path of an object (or its collection when name is undefined). */
export function objectPath(apiVersion: string, kind: string, namespace: string | undefined, name?: string): string {
  const plural = PLURALS[kind] ?? `${kind.toLowerCase()}s`;
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace && kind !== 'Namespace' && kind !== 'Node' ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

/** Sleeps for `ms` unless `signal` aborts first (resolves either way). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Capped exponential backoff with full jitter: random in [base/2, base], base = min(cap, 200 ms × 2^attempt). */
export function backoffMs(attempt: number, capMs: number, random = Math.random): number {
  const base = Math.min(capMs, 200 * 2 ** Math.min(attempt, 20));
  return base / 2 + random() * (base / 2);
}

interface Response {
  status: number;
  body: string;
}

/** Races `p` against `signal`: rejects with `onAbort()` when the signal fires first. */
function bounded<T>(p: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((res, rej) => {
    const abort = () => rej(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        res(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        rej(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export class KubeClient {
  private readonly kc = new KubeConfig();
  private readonly server: URL;
  /** client-go's `tokenFile` (client-node reads only `token-file`, once, without trimming). */
  private readonly tokenFile: string | undefined;

  constructor(readonly opts: KubeClientOptions) {
    if (opts.inCluster) this.tokenFile = loadInCluster(this.kc);
    else {
      this.kc.loadFromFile(opts.kubeconfig);
      if (opts.context) this.kc.setCurrentContext(opts.context);
    }
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new KubeError(`kubeconfig ${opts.kubeconfig}: no current cluster`);
    this.server = new URL(cluster.server);
    this.tokenFile ??= tokenFileOf(opts.kubeconfig, this.kc.getCurrentUser()?.name);
    // Exec credential plugins run with the request timeout as a hard limit (client-node sets none):
    // a hanging plugin is killed instead of piling up.
    const exec = (this.kc as unknown as { authenticators?: { execFn?: unknown }[] }).authenticators?.find((a) => 'execFn' in a);
    if (exec) exec.execFn = (cmd: string, args: string[], o: SpawnOptions) => spawn(cmd, args ?? [], { ...o, timeout: opts.timeoutMs, killSignal: 'SIGKILL' });
  }

  private async requestOptions(method: string, path: string, headers: Record<string, string>): Promise<RequestOptions> {
    const o: RequestOptions & { headers: Record<string, string> } = {
      method,
      // URL.hostname keeps an IPv6 literal's brackets; node:http wants the bare address.
      hostname: this.server.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.server.port || (this.server.protocol === 'https:' ? 443 : 80),
      path: `${this.server.pathname.replace(/\/$/, '')}${path}`,
      headers: { Accept: 'application/json', 'User-Agent': 'cluster-mgr', ...headers },
    };
    if (this.server.protocol === 'https:') {
      await this.kc.applyToHTTPSOptions(o);
      if (this.tokenFile) o.headers.Authorization = `Bearer ${(await readFile(this.tokenFile, 'utf8')).trim()}`;
    } else {
      // client-node refuses plain http without skipTLSVerify; loopback/test servers use it, so a
      // static bearer token is the only credential sent there.
      const token = this.kc.getCurrentUser()?.token;
      if (token) o.headers.Authorization = `Bearer ${token}`;
    }
    return o;
  }

  private send(opts: RequestOptions, body: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const fn = this.server.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = fn(opts, resolve);
      const timer = setTimeout(() => req.destroy(new KubeError(`${opts.method} ${opts.path}: timed out after ${timeoutMs} ms`, undefined, 'Timeout')), timeoutMs);
      const onAbort = () => req.destroy(new KubeError('aborted', undefined, 'Aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const code = (err as NodeJS.ErrnoException).code;
        reject(err instanceof KubeError ? err : new KubeError(`${opts.method} ${opts.path}: ${code ?? err.message}`, undefined, undefined, code));
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        res.on('error', () => undefined);
      });
      req.end(body);
    });
  }

  /** One request with a deadline covering the whole response body. */
  async request(method: string, path: string, init: { body?: unknown; contentType?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Response> {
    const timeoutMs = init.timeoutMs ?? this.opts.timeoutMs;
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const headers: Record<string, string> = body !== undefined ? { 'Content-Type': init.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {};
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    // Credentials (an exec plugin may run here) count against the same deadline.
    const opts = await bounded(this.requestOptions(method, path, headers), signal, () =>
      deadline.aborted
        ? new KubeError(`${method} ${path}: timed out after ${timeoutMs} ms getting credentials (exec credential plugin?)`, undefined, 'Timeout')
        : new KubeError('aborted', undefined, 'Aborted'),
    );
    let res: IncomingMessage;
    try {
      res = await this.send(opts, body, timeoutMs, signal);
    } catch (err) {
      if (deadline.aborted) throw new KubeError(`${method} ${path}: timed out after ${timeoutMs} ms`, undefined, 'Timeout');
      throw err;
    }
    const text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onAbort = () => {
        res.destroy();
        reject(new KubeError(`${method} ${path}: timed out reading the response after ${timeoutMs} ms`, undefined, 'Timeout'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(new KubeError(`${method} ${path}: ${err.message}`));
      });
    });
    return { status: res.statusCode ?? 0, body: text };
  }

  /** JSON request; non-2xx becomes a KubeError carrying the Status reason. */
  async json<T = KubeObject>(method: string, path: string, init: Parameters<KubeClient['request']>[2] = {}): Promise<T> {
    const r = await this.request(method, path, init);
    if (r.status < 200 || r.status >= 300) {
      let reason: string | undefined;
      let message = r.body.slice(0, 300);
      try {
        const s = JSON.parse(r.body) as { reason?: string; message?: string };
        reason = s.reason;
        message = s.message ?? message;
      } catch {
        // not a Status
      }
      if (r.status === 401 || r.status === 403) this.opts.onAuthError?.({ status: r.status, method, path, message });
      throw new KubeError(`${method} ${path}: ${r.status} ${reason ?? ''} ${message}`.trim(), r.status, reason);
    }
    return (r.body ? JSON.parse(r.body) : {}) as T;
  }

  /**
   * Streams a watch; calls `onEvent` per event. Resolves when the server ends the stream; rejects on
   * errors, idle (no bytes for watchIdleMs) or abort.
   */
  async watch(path: string, onEvent: (e: { type: string; object: KubeObject }) => void, signal: AbortSignal): Promise<void> {
    const t = this.opts.timeoutMs;
    const opts = await bounded(this.requestOptions('GET', path, {}), AbortSignal.any([signal, AbortSignal.timeout(t)]), () =>
      signal.aborted ? new KubeError('aborted', undefined, 'Aborted') : new KubeError(`watch ${path}: timed out after ${t} ms getting credentials (exec credential plugin?)`, undefined, 'Timeout'),
    );
    const res = await this.send(opts, undefined, this.opts.timeoutMs, signal);
    if (res.statusCode !== 200) {
      const body = await new Promise<string>((resolve) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s));
        res.on('error', () => resolve(s));
      });
      if (res.statusCode === 401 || res.statusCode === 403) this.opts.onAuthError?.({ status: res.statusCode, method: 'GET', path, message: body.slice(0, 300) });
      throw new KubeError(`watch ${path}: ${res.statusCode} ${body.slice(0, 200)}`, res.statusCode);
    }
    const idleMs = this.opts.watchIdleMs ?? 90_000;
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let idle = setTimeout(onIdle, idleMs);
      function onIdle() {
        res.destroy();
        reject(new KubeError(`watch ${path}: idle for ${idleMs} ms`, undefined, 'Timeout'));
      }
      const onAbort = () => {
        clearTimeout(idle);
        res.destroy();
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      res.on('data', (c: Buffer) => {
        clearTimeout(idle);
        idle = setTimeout(onIdle, idleMs);
        const { lines, rest } = completeLines(buf + c.toString('utf8'));
        buf = rest;
        for (const line of lines) {
          try {
            onEvent(JSON.parse(line) as { type: string; object: KubeObject });
          } catch (err) {
            res.destroy();
            clearTimeout(idle);
            signal.removeEventListener('abort', onAbort);
            reject(err);
            return;
          }
        }
      });
      res.on('end', () => {
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      res.on('error', (err) => {
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
    });
  }
}

/** client-go's `tokenFile` (or client-node's `token-file`) of a kubeconfig user, resolved against the file's folder. */
function tokenFileOf(kubeconfig: string, user: string | undefined): string | undefined {
  try {
    const doc = parseYaml(readFileSync(kubeconfig, 'utf8')) as { users?: { name?: string; user?: Record<string, unknown> }[] };
    const u = doc.users?.find((x) => x.name === user)?.user;
    if (!u || u.token) return undefined;
    const f = u.tokenFile ?? u['token-file'];
    return typeof f === 'string' && f !== '' ? resolve(dirname(kubeconfig), f) : undefined;
  } catch {
    return undefined;
  }
}

const TLS_CODE = /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH|ERR_CERT)/;
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EADDRNOTAVAIL']);

/**
 * What a failed health probe means. `auth` (401/403: the member answered, cluster-mgr's credentials
 * are wrong) and `tls` (certificate not trusted) are configuration problems, not a down member.
 */
export function classifyProbe(f: { status?: number; code?: string; reason?: string; message?: string }): { problem: ProbeProblem; reason: string } {
  const what = f.message ?? '';
  if (f.status === 401) return { problem: 'auth', reason: `authentication failed (HTTP 401 Unauthorized): the member answered but rejected cluster-mgr's credentials; check the kubeconfig's user` };
  if (f.status === 403) return { problem: 'auth', reason: `authorization failed (HTTP 403 Forbidden): cluster-mgr's user may not read /readyz or nodes; check its RBAC` };
  if (f.status !== undefined) return { problem: 'unready', reason: `readyz: HTTP ${f.status}${what ? ` ${what}` : ''}` };
  if (f.reason === 'Timeout') return { problem: 'timeout', reason: what || 'timed out' };
  if (f.code && TLS_CODE.test(f.code)) return { problem: 'tls', reason: `TLS: ${f.code} (is the kubeconfig's certificate-authority the member's CA?)` };
  if (f.code && UNREACHABLE.has(f.code)) return { problem: 'unreachable', reason: what || f.code };
  return { problem: 'error', reason: what || 'probe failed' };
}

class Gone extends Error {}

/**
 * Server-side watch timeout like client-go's reflector: 5–10 min, jittered so that members' watches
 * do not all end together. The stream ending is not an error: the watch resumes from the last
 * resourceVersion (bookmarks keep it fresh) — no relist while the watch is healthy.
 */
export function watchTimeoutSeconds(random = Math.random): number {
  return Math.floor(300 * (1 + random()));
}

/** list + watch cache of one collection. */
export class Informer {
  readonly items = new Map<string, KubeObject>();
  synced = false;
  private attempt = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly query: string,
    private readonly onChange: (e?: { type: string; object: KubeObject }) => void,
    private readonly what: string,
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    const log = this.client.opts.log;
    while (!signal.aborted) {
      try {
        const list = await this.client.json<{ metadata: { resourceVersion: string }; items: KubeObject[] }>('GET', `${this.path}?${this.query}`, { signal });
        this.items.clear();
        for (const o of list.items) this.items.set(key(o), o);
        this.synced = true;
        this.onChange();
        let rv = list.metadata.resourceVersion;
        // watch until 410 (relist) or an error (backoff, then relist)
        for (;;) {
          if (signal.aborted) return;
          const q = `${this.query}${this.query ? '&' : ''}watch=1&allowWatchBookmarks=true&timeoutSeconds=${watchTimeoutSeconds()}&resourceVersion=${encodeURIComponent(rv)}`;
          await this.client.watch(`${this.path}?${q}`, (e) => {
            if (e.type === 'ERROR') {
              const st = e.object as { code?: number; message?: string };
              if (st.code === 410) throw new Gone(st.message ?? 'gone');
              throw new KubeError(`watch error: ${st.message ?? JSON.stringify(st)}`, st.code);
            }
            const m = e.object.metadata as { resourceVersion?: string } | undefined;
            if (m?.resourceVersion) rv = m.resourceVersion;
            if (e.type === 'BOOKMARK') return;
            if (e.type === 'DELETED') this.items.delete(key(e.object));
            else this.items.set(key(e.object), e.object);
            this.attempt = 0;
            this.onChange(e);
          }, signal);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Gone || (err instanceof KubeError && err.status === 410)) {
          log?.('debug', `${this.what}: resourceVersion too old, relisting`, { member: this.client.opts.name });
          continue;
        }
        const wait = backoffMs(this.attempt++, this.client.opts.maxBackoffMs ?? 5000);
        log?.('debug', `${this.what}: ${(err as Error).message}; retrying in ${Math.round(wait)} ms`, { member: this.client.opts.name });
        await sleep(wait, signal);
      }
    }
  }
}

const key = (o: KubeObject): string => {
  const m = o.metadata as { namespace?: string; name?: string } | undefined;
  return `${m?.namespace ?? ''}/${m?.name ?? ''}`;
};

const q = (v: unknown): number => (typeof v === 'string' || typeof v === 'number' ? (parseQuantity(v) ?? 0) : 0);

/** Requests of a pod: the one pod-request function (infra/lib/pod-requests), pods = 1. */
export function podRequests(pod: KubeObject): ResourceAmounts {
  const r = sumPodRequests(pod.spec as PodSpecResources | undefined);
  return { cpu: r.cpu, memory: r.memory, pods: 1 };
}

const conditionTrue = (n: KubeObject, type: string): boolean =>
  ((n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
const nodeReady = (n: KubeObject): boolean => !(n.spec as { unschedulable?: boolean } | undefined)?.unschedulable && conditionTrue(n, 'Ready');

/** The scheduler's verdict on a Pending pod it could not place (PodScheduled=False, reason Unschedulable), else undefined. */
function unschedulableMessage(p: KubeObject): string | undefined {
  const status = p.status as { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined;
  if ((p.spec as { nodeName?: string } | undefined)?.nodeName || (status?.phase ?? 'Pending') !== 'Pending') return undefined;
  const c = status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c && c.status === 'False' && c.reason === 'Unschedulable' ? (c.message ?? 'Unschedulable') : undefined;
}

/** Why a pod is not Ready (undefined when it is, or when it finished): a container's waiting reason, the scheduler's message, or its phase. */
export function notReadyReason(p: KubeObject): string | undefined {
  const status = (p.status ?? {}) as {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return undefined;
  if (status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
  for (const c of status.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason) return `${w.reason}${w.message ? ` (${w.message})` : ''}`;
  }
  const sched = unschedulableMessage(p);
  if (sched !== undefined) return `Unschedulable (${sched})`;
  return status.phase ?? 'Pending';
}

/**
 * Capacity from node and pod caches. Totals: allocatable of Ready schedulable nodes − requests of the
 * non-terminal pods bound to them. Per node (every node; core/scheduling decides which an app may
 * use): labels, taints, cordoned, Ready, allocatable and the requests of its pods. Plus the pods the
 * scheduler left Pending as Unschedulable, with its message.
 */
export function capacityOf(nodes: Iterable<KubeObject>, pods: Iterable<KubeObject>): ClusterCapacity {
  const ready = new Set<string>();
  let count = 0;
  const alloc = { cpu: 0, memory: 0, pods: 0 };
  const perNode = new Map<string, { snap: Omit<NodeSnapshot, 'allocated'>; used: { cpu: number; memory: number; pods: number } }>();
  for (const n of nodes) {
    count++;
    const meta = (n.metadata ?? {}) as { name?: string; labels?: Record<string, string> };
    const name = String(meta.name);
    const spec = (n.spec ?? {}) as { unschedulable?: boolean; taints?: Taint[] };
    const a = (n.status as { allocatable?: Record<string, unknown> } | undefined)?.allocatable ?? {};
    const allocatable = { cpu: q(a.cpu), memory: q(a.memory), pods: q(a.pods) };
    const taints = (spec.taints ?? []).map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect }));
    perNode.set(name, {
      snap: { name, labels: meta.labels ?? {}, taints, unschedulable: !!spec.unschedulable, ready: conditionTrue(n, 'Ready'), allocatable },
      used: { cpu: 0, memory: 0, pods: 0 },
    });
    if (!nodeReady(n)) continue;
    ready.add(name);
    alloc.cpu += allocatable.cpu;
    alloc.memory += allocatable.memory;
    alloc.pods += allocatable.pods;
  }
  const used = { cpu: 0, memory: 0, pods: 0 };
  const unschedulablePods: UnschedulablePod[] = [];
  const boundPods: BoundPod[] = [];
  for (const p of pods) {
    const node = (p.spec as { nodeName?: string } | undefined)?.nodeName;
    const phase = (p.status as { phase?: string } | undefined)?.phase;
    if (!node) {
      const message = unschedulableMessage(p);
      const meta = (p.metadata ?? {}) as { namespace?: string; labels?: Record<string, string> };
      if (message !== undefined) unschedulablePods.push({ namespace: meta.namespace ?? 'default', labels: meta.labels ?? {}, message });
      continue;
    }
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const pm = (p.metadata ?? {}) as { namespace?: string; labels?: Record<string, string> };
    boundPods.push({ namespace: pm.namespace ?? 'default', labels: pm.labels ?? {} });
    const r = podRequests(p);
    const on = perNode.get(node)?.used;
    if (on) {
      on.cpu += r.cpu;
      on.memory += r.memory;
      on.pods += 1;
    }
    if (!ready.has(node)) continue;
    used.cpu += r.cpu;
    used.memory += r.memory;
    used.pods += 1;
  }
  const byNode = [...perNode.values()].map((x) => ({ ...x.snap, allocated: x.used })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { allocatable: alloc, allocated: used, readyNodes: ready.size, nodes: count, byNode, unschedulablePods, boundPods };
}

/** The ClusterApi of one member. */
export class KubeMember implements ClusterApi {
  readonly name: string;
  readonly client: KubeClient;
  private readonly nodes: Informer;
  private readonly pods: Informer;
  private readonly deployments: Informer;
  private cachedCapacity: ClusterCapacity | undefined;
  private cachedOwned: OwnedDeployment[] | undefined;
  private ownedIndex: Map<string, OwnedDeployment> | undefined;

  constructor(opts: KubeClientOptions & { onChange?: () => void; onAppChange?: (appKey: string) => void }) {
    this.name = opts.name;
    this.client = new KubeClient(opts);
    const capChanged = () => {
      this.cachedCapacity = undefined;
      opts.onChange?.();
    };
    this.nodes = new Informer(this.client, '/api/v1/nodes', '', capChanged, 'nodes');
    this.pods = new Informer(this.client, '/api/v1/pods', '', capChanged, 'pods');
    this.deployments = new Informer(
      this.client,
      '/apis/apps/v1/deployments',
      `labelSelector=${encodeURIComponent(`${MANAGED_BY}=${FIELD_MANAGER}`)}`,
      (e) => {
        this.cachedOwned = undefined;
        this.ownedIndex = undefined;
        // One Deployment's event requeues its app only (its labels name it); a relist, all apps.
        const l = (e?.object.metadata as { namespace?: string; name?: string; labels?: Record<string, string> } | undefined);
        if (e && opts.onAppChange && l) opts.onAppChange(`${l.labels?.[APP_NAMESPACE_LABEL] ?? l.namespace}/${l.labels?.[APP_LABEL] ?? l.name}`);
        else opts.onChange?.();
      },
      'deployments',
    );
  }

  start(signal: AbortSignal): void {
    for (const inf of [this.nodes, this.pods, this.deployments]) void inf.run(signal);
  }

  private sources: Map<string, Informer> | undefined;

  watchSource(signal: AbortSignal, onChange: (kind: string, namespace: string, name: string) => void): void {
    if (this.sources) return;
    this.sources = new Map();
    for (const kind of ['ConfigMap', 'Secret', 'PersistentVolumeClaim']) {
      const inf = new Informer(
        this.client,
        objectPath('v1', kind, undefined),
        '',
        (e) => {
          const m = e?.object.metadata as { namespace?: string; name?: string } | undefined;
          if (m?.namespace && m.name) onChange(kind, m.namespace, m.name);
        },
        `source ${kind}s`,
      );
      this.sources.set(kind, inf);
      void inf.run(signal);
    }
  }

  sourceObject(kind: string, namespace: string, name: string): KubeObject | null | undefined {
    const inf = this.sources?.get(kind);
    if (!inf?.synced) return undefined;
    return inf.items.get(`${namespace}/${name}`) ?? null;
  }

  synced(): boolean {
    return this.nodes.synced && this.pods.synced && this.deployments.synced;
  }

  capacity(): ClusterCapacity {
    this.cachedCapacity ??= capacityOf(this.nodes.items.values(), this.pods.items.values());
    return this.cachedCapacity;
  }

  owned(): readonly OwnedDeployment[] {
    this.cachedOwned ??= [...this.deployments.items.values()].map((d) => {
      const m = d.metadata as { namespace: string; name: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string> };
      const spec = d.spec as { replicas?: number; selector?: { matchLabels?: Record<string, string> } } | undefined;
      const status = d.status as { readyReplicas?: number; observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number } | undefined;
      return {
        namespace: m.namespace,
        name: m.name,
        app: `${m.labels?.[APP_NAMESPACE_LABEL] ?? m.namespace}/${m.labels?.[APP_LABEL] ?? m.name}`,
        replicas: spec?.replicas ?? 1,
        readyReplicas: status?.readyReplicas ?? 0,
        generation: m.generation ?? 0,
        observedGeneration: status?.observedGeneration ?? 0,
        updatedReplicas: status?.updatedReplicas ?? 0,
        availableReplicas: status?.availableReplicas ?? 0,
        ...(spec?.selector ? { selector: spec.selector } : {}),
        ...(m.annotations?.[TEMPLATE_HASH] ? { templateHash: m.annotations[TEMPLATE_HASH] } : {}),
      };
    });
    return this.cachedOwned;
  }

  findOwned(namespace: string, name: string): OwnedDeployment | undefined {
    this.ownedIndex ??= new Map(this.owned().map((d) => [`${d.namespace}/${d.name}`, d]));
    return this.ownedIndex.get(`${namespace}/${name}`);
  }

  notReadyPods(namespace: string, matchLabels: Readonly<Record<string, string>>): { pod: string; reason: string }[] {
    const out: { pod: string; reason: string }[] = [];
    for (const p of this.pods.items.values()) {
      const m = (p.metadata ?? {}) as { namespace?: string; name?: string; labels?: Record<string, string>; deletionTimestamp?: string };
      if (m.namespace !== namespace || m.deletionTimestamp || !selectorMatches({ matchLabels }, m.labels ?? {})) continue;
      const reason = notReadyReason(p);
      if (reason !== undefined) out.push({ pod: `${namespace}/${m.name ?? ''}`, reason });
    }
    return out.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
  }

  async probe(signal?: AbortSignal): Promise<ProbeResult> {
    try {
      const timeoutMs = this.client.opts.probeTimeoutMs ?? this.client.opts.timeoutMs;
      const r = await this.client.request('GET', '/readyz', { signal, timeoutMs });
      if (r.status === 401 || r.status === 403) this.client.opts.onAuthError?.({ status: r.status, method: 'GET', path: '/readyz', message: r.body.slice(0, 300) });
      if (r.status !== 200) return { ok: false, ...classifyProbe({ status: r.status }) };
      if (this.nodes.synced) {
        if (this.capacity().readyNodes === 0) return { ok: false, problem: 'no-nodes', reason: 'no Ready, schedulable node' };
      } else {
        const list = await this.client.json<{ items: KubeObject[] }>('GET', '/api/v1/nodes', { signal, timeoutMs });
        if (!list.items.some(nodeReady)) return { ok: false, problem: 'no-nodes', reason: 'no Ready, schedulable node' };
      }
      return { ok: true };
    } catch (err) {
      const e = err as KubeError;
      return { ok: false, ...classifyProbe({ status: e.status, code: e.code, reason: e.reason, message: e.message }) };
    }
  }

  async apply(obj: KubeObject, signal?: AbortSignal): Promise<void> {
    const m = obj.metadata as { namespace?: string; name: string };
    const path = objectPath(String(obj.apiVersion), String(obj.kind), m.namespace, m.name);
    await this.client.json('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, { body: obj, contentType: 'application/apply-patch+yaml', signal });
  }

  async get(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<KubeObject | undefined> {
    try {
      return await this.client.json('GET', objectPath(apiVersion, kind, namespace, name), { signal });
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  async write(obj: KubeObject, signal?: AbortSignal): Promise<boolean> {
    const m = obj.metadata as { namespace?: string; name: string; resourceVersion?: string };
    const apiVersion = String(obj.apiVersion);
    const kind = String(obj.kind);
    try {
      if (m.resourceVersion) await this.client.json('PUT', objectPath(apiVersion, kind, m.namespace, m.name), { body: obj, signal });
      else await this.client.json('POST', objectPath(apiVersion, kind, m.namespace), { body: obj, signal });
      return true;
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) return false;
      throw err;
    }
  }

  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.json('DELETE', objectPath(apiVersion, kind, namespace, name), { signal });
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return;
      throw err;
    }
  }
}
