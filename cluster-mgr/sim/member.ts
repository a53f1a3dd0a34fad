// One simulated member cluster: object store + controllers behind three loopback listeners — the
// Kubernetes API, an HTTP "ingress" answering with the member name and ready pods, and a fault API.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from './errors';
import { ApiServer, sendError } from './apiserver';
import { Controllers, isNodeReady } from './controllers';
import { RESOURCES, resourceByKind, type ResourceType } from './resources';
import type { KObject } from './selectors';
import { Store } from './store';

export const FAULT_MODES = ['none', 'down', 'hang', 'slow', '5xx', 'partition'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface NodeCapacity {
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: number;
}

export interface MemberSettings {
  readonly name: string;
  readonly host: string;
  readonly nodes: number;
  readonly nodeCpu: string;
  readonly nodeMemory: string;
  readonly nodePods: number;
  readonly podReadyDelayMs: number;
  readonly watchWindow: number;
  readonly bookmarkIntervalMs: number;
  readonly slowMs: number;
  /** Index of this member (distinct fake node/pod address ranges). */
  readonly index: number;
}

interface Listener {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  open: boolean;
}

const R = (plural: string): ResourceType => RESOURCES.find((r) => r.plural === plural)!;
const NODES = R('nodes');
const NAMESPACES = R('namespaces');
const PODS = R('pods');

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class SimMember {
  readonly store: Store;
  private readonly controllers: Controllers;
  private readonly api: ApiServer;
  private apiL!: Listener;
  private ingressL!: Listener;
  private faultL!: Listener;
  private mode: FaultMode = 'none';
  private slowMs: number;
  private readonly hung = new Set<ServerResponse>();
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(readonly settings: MemberSettings) {
    this.slowMs = settings.slowMs;
    this.store = new Store(settings.watchWindow, settings.index + 1);
    this.controllers = new Controllers(this.store, { podReadyDelayMs: settings.podReadyDelayMs, podIpPrefix: `127.2.${settings.index}.` });
    this.api = new ApiServer(this.store, { serverAddress: () => `${settings.host}:${this.apiL.port}`, bookmarkIntervalMs: settings.bookmarkIntervalMs });
    for (const ns of SYSTEM_NAMESPACES) this.store.create(NAMESPACES, { metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } }, undefined);
    for (let i = 1; i <= settings.nodes; i++) this.addNode(`${settings.name}-node-${i}`);
  }

  get name(): string {
    return this.settings.name;
  }
  get apiUrl(): string {
    return `http://${this.settings.host}:${this.apiL.port}`;
  }
  get ingressUrl(): string {
    return `http://${this.settings.host}:${this.ingressL.port}`;
  }
  get faultUrl(): string {
    return `http://${this.settings.host}:${this.faultL.port}/fault`;
  }
  /** A served resource type by plural, kind or short name. */
  resource(kind: string): ResourceType {
    return this.kind(kind);
  }

  get fault(): FaultMode {
    return this.mode;
  }

  async start(): Promise<void> {
    this.controllers.start();
    this.apiL = await this.listen((req, res) => this.onApi(req, res), 0);
    this.ingressL = await this.listen((req, res) => this.onIngress(req, res), 0);
    this.faultL = await this.listen((req, res) => {
      this.onFault(req, res).catch(() => res.destroy());
    }, 0);
  }

  private listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number): Promise<Listener> {
    const server = createServer(handler);
    server.keepAliveTimeout = 5000;
    const l: Listener = { server, port, sockets: new Set(), open: false };
    server.on('connection', (s) => {
      l.sockets.add(s);
      s.on('close', () => l.sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.settings.host, () => {
        server.off('error', reject);
        const a = server.address();
        l.port = typeof a === 'object' && a ? a.port : port;
        l.open = true;
        resolve(l);
      });
    });
  }

  private async close(l: Listener): Promise<void> {
    if (!l.open) return;
    l.open = false;
    const done = new Promise<void>((r) => l.server.close(() => r()));
    for (const s of l.sockets) s.destroy();
    await done;
  }

  private async reopen(l: Listener, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listener> {
    if (l.open) return l;
    let lastErr: unknown;
    for (let i = 0; i < 20; i++) {
      try {
        return await this.listen(handler, l.port);
      } catch (e) {
        lastErr = e; // the port may linger briefly; retry
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`sim member ${this.name}: cannot listen again on port ${l.port}: ${(lastErr as Error)?.message}`);
  }

  /** Applies a fault mode (see docs/sim.md). `slowMs` changes the delay of `slow`. */
  async setFault(mode: FaultMode, opts: { slowMs?: number } = {}): Promise<void> {
    if (!FAULT_MODES.includes(mode)) throw new Error(`unknown fault mode "${mode}": expected one of ${FAULT_MODES.join(', ')}`);
    if (opts.slowMs !== undefined) this.slowMs = opts.slowMs;
    const prev = this.mode;
    this.mode = mode;
    if (prev === mode) return;
    if (prev === 'hang' || prev === 'partition') {
      // Requests held by a hung server are cut when it comes back; watches resume with what they missed.
      for (const r of this.hung) r.socket?.destroy();
      this.hung.clear();
    }
    this.api.pauseWatches(mode === 'hang' || mode === 'partition');
    if (mode === 'down') {
      this.api.closeWatches();
      await Promise.all([this.close(this.apiL), this.close(this.ingressL)]);
    } else if (prev === 'down') {
      this.apiL = await this.reopen(this.apiL, (req, res) => this.onApi(req, res));
      this.ingressL = await this.reopen(this.ingressL, (req, res) => this.onIngress(req, res));
    }
  }

  /** Common fault gate: returns true when the request was taken care of (held, failed, or delayed). */
  private gate(res: ServerResponse, isApi: boolean, run: () => void): boolean {
    const m = this.mode;
    if (m === 'hang' || (m === 'partition' && isApi)) {
      this.hung.add(res);
      res.on('close', () => this.hung.delete(res));
      return true;
    }
    if (m === '5xx') {
      sendError(res, new ApiError(503, 'ServiceUnavailable', `the server is currently unable to handle the request (simulated fault on ${this.name})`));
      return true;
    }
    if (m === 'slow') {
      const t = setTimeout(() => {
        this.delayed.delete(t);
        run();
      }, this.slowMs);
      this.delayed.add(t);
      return true;
    }
    return false;
  }

  private onApi(req: IncomingMessage, res: ServerResponse): void {
    const run = () => void this.api.handle(req, res);
    if (!this.gate(res, true, run)) run();
  }

  /** Number of Ready pods outside the kube-* namespaces (or only in `namespace`). */
  readyPods(namespace?: string): number {
    return this.store
      .list(PODS, namespace)
      .filter((p) => namespace || !String(p.metadata.namespace).startsWith('kube-'))
      .filter((p) => ((p.status?.conditions ?? []) as KObject[]).some((c) => c.type === 'Ready' && c.status === 'True')).length;
  }

  private onIngress(req: IncomingMessage, res: ServerResponse): void {
    const run = () => {
      const ns = new URL(req.url ?? '/', 'http://sim').searchParams.get('namespace') ?? undefined;
      const body = `${JSON.stringify({ member: this.name, readyPods: this.readyPods(ns) })}\n`;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Sim-Member': this.name });
      res.end(body);
    };
    req.resume();
    if (!this.gate(res, false, run)) run();
  }

  private async onFault(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (code: number, body: unknown) => {
      const text = `${JSON.stringify(body)}\n`;
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(text);
    };
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    if (path !== '/fault' && path !== '/') return reply(404, { error: `unknown path ${path}: use /fault` });
    if (req.method === 'GET') return reply(200, { member: this.name, mode: this.mode, slowMs: this.slowMs });
    if (req.method !== 'POST' && req.method !== 'PUT') return reply(405, { error: 'use GET or POST' });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: { mode?: unknown; slowMs?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return reply(400, { error: 'body must be JSON like {"mode":"down"}' });
    }
    const mode = body.mode as FaultMode;
    if (typeof mode !== 'string' || !FAULT_MODES.includes(mode))
      return reply(400, { error: `mode: got ${JSON.stringify(body.mode)}, expected one of ${FAULT_MODES.join(', ')}` });
    if (body.slowMs !== undefined && (typeof body.slowMs !== 'number' || body.slowMs < 0))
      return reply(400, { error: `slowMs: got ${JSON.stringify(body.slowMs)}, expected a number of milliseconds >= 0` });
    try {
      await this.setFault(mode, body.slowMs !== undefined ? { slowMs: body.slowMs as number } : {});
    } catch (err) {
      return reply(500, { error: (err as Error).message, member: this.name, mode: this.mode });
    }
    reply(200, { member: this.name, mode: this.mode, slowMs: this.slowMs });
  }

  // ---- direct access for tests and the CLI ----------------------------------------------------

  /** Gets an object by kind ("Deployment", "deploy", "pods", …). */
  get(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.store.get(this.kind(kind), namespace, name);
  }

  list(kind: string, namespace?: string): KObject[] {
    return this.store.list(this.kind(kind), namespace);
  }

  private kind(kind: string): ResourceType {
    const r = resourceByKind(kind);
    if (!r) throw new Error(`unknown kind "${kind}": the simulator serves ${RESOURCES.map((x) => x.kind).join(', ')}`);
    return r;
  }

  /** Adds a Ready node with the member's default capacity (or `cap`). */
  addNode(name: string, cap: NodeCapacity = {}): KObject {
    const s = this.settings;
    const i = this.store.list(NODES).length + 1;
    const capacity = { cpu: cap.cpu ?? s.nodeCpu, memory: cap.memory ?? s.nodeMemory, pods: String(cap.pods ?? s.nodePods), 'ephemeral-storage': '100Gi' };
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, lastHeartbeatTime: t, lastTransitionTime: t, reason, message });
    return this.store.create(
      NODES,
      {
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node-role.kubernetes.io/worker': '',
            'topology.kubernetes.io/zone': s.name,
            'flotilla.dev/simulated': 'true',
          },
        },
        spec: { podCIDR: `10.244.${i}.0/24` },
        status: {
          capacity,
          allocatable: { ...capacity },
          conditions: [
            cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
            cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
            cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
            cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
          ],
          addresses: [
            { type: 'InternalIP', address: `127.1.${s.index}.${i}` },
            { type: 'Hostname', address: name },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo: {
            machineID: name,
            systemUUID: name,
            bootID: name,
            kernelVersion: '6.1.0-sim',
            osImage: 'Flotilla simulated node',
            containerRuntimeVersion: 'containerd://1.7.0-sim',
            kubeletVersion: 'v1.32.0-sim',
            kubeProxyVersion: 'v1.32.0-sim',
            operatingSystem: 'linux',
            architecture: 'amd64',
          },
        },
      },
      undefined,
      { manager: 'kubelet', internal: true },
    );
  }

  /** Changes a node's capacity and allocatable (pods that no longer fit stay; new ones go Pending). */
  setNodeCapacity(node: string, cap: NodeCapacity): KObject {
    const n = this.store.mustGet(NODES, undefined, node);
    const c = { ...n.status.capacity, ...(cap.cpu ? { cpu: cap.cpu } : {}), ...(cap.memory ? { memory: cap.memory } : {}), ...(cap.pods !== undefined ? { pods: String(cap.pods) } : {}) };
    n.status = { ...n.status, capacity: c, allocatable: { ...c } };
    return this.store.update(NODES, n, undefined, node, { manager: 'kubelet', subresource: 'status' });
  }

  /** Marks a node Ready or NotReady (its pods follow). */
  setNodeReady(node: string, ready: boolean): KObject {
    const n = this.store.mustGet(NODES, undefined, node);
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    n.status.conditions = (n.status.conditions as KObject[]).map((c) =>
      c.type === 'Ready'
        ? ready
          ? { ...c, status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: t }
          : { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: t }
        : c,
    );
    return this.store.update(NODES, n, undefined, node, { manager: 'kube-controller-manager', subresource: 'status' });
  }

  removeNode(node: string): void {
    this.store.delete(NODES, undefined, node);
  }

  /** Free capacity summed over Ready nodes (cpu millicores, memory bytes, pod slots). */
  freeCapacity(): { cpu: number; memory: number; pods: number } {
    const out = { cpu: 0, memory: 0, pods: 0 };
    for (const f of this.controllers.freeByNode().values()) {
      if (!isNodeReady(f.node)) continue;
      out.cpu += f.cpu;
      out.memory += f.memory;
      out.pods += f.pods;
    }
    return out;
  }

  async stop(): Promise<void> {
    this.controllers.stop();
    for (const t of this.delayed) clearTimeout(t);
    for (const r of this.hung) r.socket?.destroy();
    this.api.closeWatches();
    await Promise.all([this.close(this.apiL), this.close(this.ingressL), this.close(this.faultL)]);
  }
}
