// ClusterApi over a member's kubeconfig. @kubernetes/client-node's KubeConfig loads the kubeconfig
// and authenticates requests (client certs, tokens, exec plugins via applyToHTTPSOptions); requests
// themselves go through node:http(s) so that every call has a hard timeout and an AbortSignal.
// (client-node's generated API clients take neither). Informers: client-node's ListWatch (the cache,
// resume from the last resourceVersion, relist on 410 Gone) over a bounded watch of our own
// (bookmarks, jittered server-side timeout, idle limit, credentials under the deadline: BoundedWatch),
// resumed after a capped exponential backoff with jitter.
import { KubeConfig, ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
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
import type { ClusterApi, ClusterCapacity, KubeObject, MemberEvent, OwnedDeployment, ProbeProblem, ProbeResult, ResourceAmounts } from '../contracts/index';
import { PROPAGATE_KINDS } from '../config/schema';
import type { OwnerRef, PodRef } from '../core/events';

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
  PersistentVolume: 'persistentvolumes',
  Service: 'services',
  Deployment: 'deployments',
  Lease: 'leases',
};

/** Kinds without a namespace (of those cluster-mgr touches). */
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set(['Namespace', 'Node', 'PersistentVolume']);

/** REST path of an object (or its collection when name is undefined). */
export function objectPath(apiVersion: string, kind: string, namespace: string | undefined, name?: string): string {
  const plural = PLURALS[kind] ?? `${kind.toLowerCase()}s`;
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace && !CLUSTER_SCOPED.has(kind) ? `/namespaces/${encodeURIComponent(namespace)}` : '';
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

  /** The loaded kubeconfig (client-node's ListWatch needs it for its Watch; requests go through this client). */
  get kubeConfig(): KubeConfig {
    return this.kc;
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

/**
 * Server-side watch timeout like client-go's reflector: 5–10 min, jittered so that members' watches
 * do not all end together. The stream ending is not an error: the watch resumes from the last
 * resourceVersion (bookmarks keep it fresh) — no relist while the watch is healthy.
 */
export function watchTimeoutSeconds(random = Math.random): number {
  return Math.floor(300 * (1 + random()));
}

/**
 * The Watch that client-node's ListWatch drives, over KubeClient.watch. client-node's own Watch (1.4)
 * falls short for a failover daemon, so its `watch()` is replaced here: it sends neither
 * `allowWatchBookmarks` nor `timeoutSeconds` (no bookmarks, no jittered server-side end), it has no
 * idle limit (a frozen API server — SIGSTOP, a dropped route — hangs the watch forever), and it
 * fetches credentials (exec plugins) without a deadline. KubeClient.watch has all four.
 */
class BoundedWatch extends Watch {
  constructor(
    private readonly client: KubeClient,
    /** Called as each watch starts (ListWatch calls watch() right after a list has filled its cache). */
    private readonly onStart: () => void,
    private readonly onEvent: () => void,
  ) {
    super(client.kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.onStart();
    const ac = new AbortController();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(queryParams)) if (v !== undefined && v !== '') q.set(k, String(v));
    q.set('watch', '1');
    q.set('allowWatchBookmarks', 'true');
    q.set('timeoutSeconds', String(watchTimeoutSeconds()));
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      ac.abort();
      // ListWatch relists on `statusCode` 410 (resourceVersion too old), resumes otherwise.
      done(err instanceof KubeError && err.status !== undefined ? Object.assign(err, { statusCode: err.status }) : err);
    };
    void this.client
      .watch(
        `${path}?${q.toString()}`,
        (e) => {
          this.onEvent();
          callback(e.type, e.object, e);
        },
        ac.signal,
      )
      .then(
        () => finish(null),
        (err: unknown) => finish(err),
      );
    return ac;
  }
}

const abortPromises = new WeakMap<AbortSignal, Promise<void>>();

/** Resolves when `signal` aborts; one listener per signal however many informers wait on it. */
function whenAborted(signal: AbortSignal): Promise<void> {
  let p = abortPromises.get(signal);
  if (!p) {
    p = signal.aborted ? Promise.resolve() : new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    abortPromises.set(signal, p);
  }
  return p;
}

/** An informer's change: one object (ADDED/MODIFIED/DELETED, relists included), or LISTED after each (re)list. */
export type InformerEvent = { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: KubeObject } | { readonly type: 'LISTED' };

/**
 * list + watch cache of one collection: client-node's ListWatch (the cache, resuming from the last
 * resourceVersion, relisting on 410 Gone, add/update/delete callbacks — a relist reports what changed)
 * over BoundedWatch. ListWatch stops on any other error; here it resumes after a capped, jittered
 * backoff — from the last resourceVersion, so a broken connection costs a watch, not a list.
 */
export class Informer {
  synced = false;
  /** Lists made: the first, then one per 410 Gone (a healthy watch adds none). */
  lists = 0;
  private readonly lw: ListWatch<KubernetesObject>;
  private attempt = 0;
  private listed = false;
  private signal: AbortSignal | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly query: string,
    private readonly onChange: (e: InformerEvent) => void,
    private readonly what: string,
  ) {
    const watch = new BoundedWatch(
      client,
      () => {
        if (!this.listed) return;
        this.listed = false;
        this.synced = true;
        this.onChange({ type: 'LISTED' });
      },
      () => (this.attempt = 0),
    );
    const labelSelector = new URLSearchParams(query).get('labelSelector') ?? undefined;
    this.lw = new ListWatch<KubernetesObject>(path, watch, () => this.fetchList(), false, labelSelector);
    const emit = (type: 'ADDED' | 'MODIFIED' | 'DELETED') => (o: KubernetesObject) => this.onChange({ type, object: o as KubeObject });
    this.lw.on('add', emit('ADDED'));
    this.lw.on('update', emit('MODIFIED'));
    this.lw.on('delete', emit('DELETED'));
    this.lw.on('error', (err: unknown) => this.retry(err));
  }

  private async fetchList(): Promise<KubernetesListObject<KubernetesObject>> {
    const list = await this.client.json<KubernetesListObject<KubernetesObject>>('GET', `${this.path}${this.query ? `?${this.query}` : ''}`, this.signal ? { signal: this.signal } : {});
    this.lists++;
    this.listed = true;
    return list;
  }

  private retry(err: unknown): void {
    const signal = this.signal;
    if (!signal || signal.aborted) return;
    const wait = backoffMs(this.attempt++, this.client.opts.maxBackoffMs ?? 5000);
    this.client.opts.log?.('debug', `${this.what}: ${(err as Error)?.message ?? String(err)}; retrying in ${Math.round(wait)} ms`, { member: this.client.opts.name });
    void sleep(wait, signal).then(() => {
      if (!signal.aborted) void this.lw.start();
    });
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.signal = signal;
    const stopped = whenAborted(signal);
    void stopped.then(() => this.lw.stop());
    await this.lw.start();
    await stopped;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.lw.get(name, namespace) as KubeObject | undefined;
  }

  /** Every cached object (of one namespace when given). */
  list(namespace?: string): readonly KubeObject[] {
    return this.lw.list(namespace) as readonly KubeObject[];
  }
}

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

/** A Node as the scheduling filter sees it (allocated: zero — its pods are counted by capacityOf). */
export function nodeSnapshotOf(n: KubeObject): NodeSnapshot {
  const meta = (n.metadata ?? {}) as { name?: string; labels?: Record<string, string> };
  const spec = (n.spec ?? {}) as { unschedulable?: boolean; taints?: Taint[] };
  const a = (n.status as { allocatable?: Record<string, unknown> } | undefined)?.allocatable ?? {};
  const taints = (spec.taints ?? []).map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect }));
  return {
    name: String(meta.name),
    labels: meta.labels ?? {},
    taints,
    unschedulable: !!spec.unschedulable,
    ready: conditionTrue(n, 'Ready'),
    allocatable: { cpu: q(a.cpu), memory: q(a.memory), pods: q(a.pods) },
    allocated: { cpu: 0, memory: 0, pods: 0 },
  };
}

/** The parts of a pod that say which app it belongs to (core/events). */
export function podRefOf(p: KubeObject): PodRef {
  const m = (p.metadata ?? {}) as { namespace?: string; labels?: Record<string, string>; ownerReferences?: OwnerRef[] };
  return { namespace: m.namespace ?? 'default', labels: m.labels ?? {}, ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}) };
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
  const perNode = new Map<string, { snap: NodeSnapshot; used: { cpu: number; memory: number; pods: number } }>();
  for (const n of nodes) {
    count++;
    const snap = nodeSnapshotOf(n);
    perNode.set(snap.name, { snap, used: { cpu: 0, memory: 0, pods: 0 } });
    if (!nodeReady(n)) continue;
    ready.add(snap.name);
    alloc.cpu += snap.allocatable.cpu;
    alloc.memory += snap.allocatable.memory;
    alloc.pods += snap.allocatable.pods;
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

  /** The last snapshot of each node (a node event carries before and after: core/events). */
  private readonly nodeSnaps = new Map<string, NodeSnapshot>();

  private readonly emit: (e: MemberEvent) => void;

  constructor(opts: KubeClientOptions & { onEvent?: (e: MemberEvent) => void }) {
    this.name = opts.name;
    this.client = new KubeClient(opts);
    this.emit = opts.onEvent ?? (() => undefined);
    this.nodes = new Informer(this.client, '/api/v1/nodes', '', (e) => this.onNode(e), 'nodes');
    this.pods = new Informer(this.client, '/api/v1/pods', '', (e) => this.onPod(e), 'pods');
    const owned = `labelSelector=${encodeURIComponent(`${MANAGED_BY}=${FIELD_MANAGER}`)}`;
    this.deployments = new Informer(this.client, '/apis/apps/v1/deployments', owned, (e) => this.onDeployment(e), 'deployments');
  }

  private onNode(e: InformerEvent): void {
    this.cachedCapacity = undefined;
    // A (re)list has already reported every node that came, changed or went as ADDED/MODIFIED/DELETED
    // (ListWatch diffs the new list against its cache), so the snapshots are current here.
    if (e.type === 'LISTED') return this.emit({ kind: 'listed' });
    const name = String((e.object.metadata as { name?: string } | undefined)?.name);
    const before = this.nodeSnaps.get(name);
    const after = e.type === 'DELETED' ? undefined : nodeSnapshotOf(e.object);
    if (after) this.nodeSnaps.set(name, after);
    else this.nodeSnaps.delete(name);
    this.emit({ kind: 'node', ...(before ? { before } : {}), ...(after ? { after } : {}) });
  }

  private onPod(e: InformerEvent): void {
    this.cachedCapacity = undefined;
    this.emit(e.type === 'LISTED' ? { kind: 'listed' } : { kind: 'pod', pod: podRefOf(e.object) });
  }

  private onDeployment(e: InformerEvent): void {
    this.cachedOwned = undefined;
    this.ownedIndex = undefined;
    if (e.type === 'LISTED') return this.emit({ kind: 'listed' });
    // One Deployment's event requeues its app only (its labels name it).
    const l = e.object.metadata as { namespace?: string; name?: string; labels?: Record<string, string> } | undefined;
    this.emit({ kind: 'deployment', app: `${l?.labels?.[APP_NAMESPACE_LABEL] ?? l?.namespace}/${l?.labels?.[APP_LABEL] ?? l?.name}` });
  }

  start(signal: AbortSignal): void {
    for (const inf of [this.nodes, this.pods, this.deployments]) void inf.run(signal);
  }

  /** Lists made by this member's informers since start (the first per informer, then one per 410 Gone). */
  lists(): number {
    let n = 0;
    for (const inf of [this.nodes, this.pods, this.deployments, ...(this.sources?.values() ?? [])]) n += inf.lists;
    return n;
  }

  private sources: Map<string, Informer> | undefined;

  watchSource(signal: AbortSignal, onChange: (kind: string, namespace: string, name: string) => void, kinds: readonly string[] = PROPAGATE_KINDS): void {
    this.sources ??= new Map();
    for (const kind of kinds) {
      if (this.sources.has(kind) || signal.aborted) continue;
      const inf = new Informer(
        this.client,
        objectPath('v1', kind, undefined),
        '',
        (e) => {
          if (e.type === 'LISTED') return;
          const m = e.object.metadata as { namespace?: string; name?: string } | undefined;
          if (m?.name) onChange(kind, m.namespace ?? '', m.name);
        },
        `source ${kind}s`,
      );
      this.sources.set(kind, inf);
      void inf.run(signal);
    }
  }

  sourceObject(kind: string, namespace: string | undefined, name: string): KubeObject | null | undefined {
    const inf = this.sources?.get(kind);
    if (!inf?.synced) return undefined;
    return inf.get(CLUSTER_SCOPED.has(kind) ? undefined : namespace, name) ?? null;
  }

  synced(): boolean {
    return this.nodes.synced && this.pods.synced && this.deployments.synced;
  }

  capacity(): ClusterCapacity {
    this.cachedCapacity ??= capacityOf(this.nodes.list(), this.pods.list());
    return this.cachedCapacity;
  }

  owned(): readonly OwnedDeployment[] {
    this.cachedOwned ??= this.deployments.list().map((d) => {
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
    for (const p of this.pods.list(namespace)) {
      const m = (p.metadata ?? {}) as { namespace?: string; name?: string; labels?: Record<string, string>; deletionTimestamp?: string };
      if (m.deletionTimestamp || !selectorMatches({ matchLabels }, m.labels ?? {})) continue;
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
