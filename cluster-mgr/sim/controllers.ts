// The control plane behind a simulated member: deployment → replicaset → pods, a scheduler that
// packs pod requests onto node allocatable (Pending when nothing fits), kubelet-style readiness,
// and PVC binding. Full-pass reconcile to a fixed point after every change (small clusters only).
import { createHash } from 'node:crypto';
import { podRequests as sumPodRequests, type PodSpecResources } from '../../infra/lib/pod-requests';
import { clone, deepEqual } from './patch';
import { bytes, milliCpu, parseQuantity } from './quantity';
import { RESOURCES, type ResourceType } from './resources';
import { selectorMatches, type KObject } from './selectors';
import type { Store, StoreEvent } from './store';

const R = (plural: string): ResourceType => RESOURCES.find((r) => r.plural === plural)!;
const PODS = R('pods');
const NODES = R('nodes');
const DEPLOYS = R('deployments');
const RSS = R('replicasets');
const PVCS = R('persistentvolumeclaims');
const EVENTS = R('events');

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
/** The pod-template-hash of a template (FNV-like digest, encoded with Kubernetes' safe alphabet). */
export function templateHash(template: unknown): string {
  const d = createHash('sha256').update(JSON.stringify(template ?? {})).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += SAFE[d[i]! % SAFE.length];
  return out;
}

export interface Requests {
  cpu: number; // millicores
  memory: number; // bytes
}

/** Requests of a pod spec in millicores and bytes: the one pod-request function (infra/lib/pod-requests). */
export function podRequests(spec: KObject | undefined): Requests {
  const r = sumPodRequests(spec as PodSpecResources | undefined);
  return { cpu: Math.round(r.cpu * 1000), memory: Math.round(r.memory) };
}

const isTerminal = (p: KObject) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
export const isNodeReady = (n: KObject) =>
  ((n.status?.conditions ?? []) as KObject[]).some((c) => c.type === 'Ready' && c.status === 'True') && !n.spec?.unschedulable;
const isPodReady = (p: KObject) => ((p.status?.conditions ?? []) as KObject[]).some((c) => c.type === 'Ready' && c.status === 'True');
const ownerRef = (o: KObject) => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name,
  uid: o.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
});
const ts = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export interface ControllerOptions {
  /** Pods turn Ready this long after they are bound (default 0: at once). */
  readonly podReadyDelayMs?: number;
  /** Prefix for pod IPs (a loopback range; these addresses are never dialled). */
  readonly podIpPrefix?: string;
  /** Record Events (Scheduled, FailedScheduling, ScalingReplicaSet, SuccessfulCreate). Default true. */
  readonly events?: boolean;
  /** Events kept per member before the oldest are deleted. Default 2000. */
  readonly maxEvents?: number;
}

export class Controllers {
  private dirty = false;
  private running = false;
  private timer: NodeJS.Immediate | undefined;
  private readonly readyAt = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private ipCounter = 1;
  private stopped = false;
  // Work sets filled from store events (`namespace/name` keys): only what changed is reconciled.
  private full = true;
  private readonly deploySpec = new Set<string>();
  private readonly deployStatus = new Set<string>();
  private readonly rsSpec = new Set<string>();
  private readonly rsStatusSet = new Set<string>();
  private readonly podsToCheck = new Set<string>();
  private readonly pending = new Set<string>();
  private readonly pvcs = new Set<string>();
  private retryPending = true;
  private nodesChanged = true;
  private readonly hashes = new Map<string, { generation: unknown; hash: string }>();

  constructor(
    private readonly store: Store,
    private readonly opts: ControllerOptions = {},
  ) {}

  start(): void {
    this.unsubscribe = this.store.subscribe((ev) => this.onEvent(ev));
    this.schedule();
  }

  private onEvent(ev: StoreEvent): void {
    const o = ev.obj;
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const ownerKey = (kind: string) => {
      const ref = ((o.metadata.ownerReferences ?? []) as KObject[]).find((r) => r.kind === kind && r.controller);
      return ref ? `${o.metadata.namespace ?? ''}/${ref.name}` : undefined;
    };
    switch (ev.res.kind) {
      case 'Deployment':
        this.deploySpec.add(key);
        this.deployStatus.add(key);
        if (ev.type === 'DELETED') this.hashes.delete(o.metadata.uid);
        break;
      case 'ReplicaSet': {
        this.rsSpec.add(key);
        this.rsStatusSet.add(key);
        const d = ownerKey('Deployment');
        if (d) {
          this.deploySpec.add(d);
          this.deployStatus.add(d);
        }
        break;
      }
      case 'Pod': {
        const rs = ownerKey('ReplicaSet');
        if (rs) {
          this.rsSpec.add(rs);
          this.rsStatusSet.add(rs);
          const owner = this.store.peek(RSS, o.metadata.namespace, rs.slice(rs.indexOf('/') + 1));
          const dref = ((owner?.metadata.ownerReferences ?? []) as KObject[]).find((r) => r.kind === 'Deployment');
          if (dref) {
            this.deployStatus.add(`${o.metadata.namespace}/${dref.name}`);
            this.deploySpec.add(`${o.metadata.namespace}/${dref.name}`); // rollouts advance as pods become ready
          }
        }
        if (ev.type === 'DELETED') {
          this.pending.delete(key);
          this.readyAt.delete(o.metadata.uid);
          if (o.spec?.nodeName) this.retryPending = true; // capacity freed
        } else {
          this.podsToCheck.add(key);
          if (!o.spec?.nodeName && !isTerminal(o)) {
            if (!this.pending.has(key)) this.retryPending = true;
            this.pending.add(key);
          } else this.pending.delete(key);
        }
        break;
      }
      case 'Node':
        this.nodesChanged = true;
        this.retryPending = true;
        break;
      case 'PersistentVolumeClaim':
        if (ev.type !== 'DELETED') this.pvcs.add(key);
        break;
      default:
        return;
    }
    this.schedule();
  }

  /** Takes and clears a work set, resolving keys to stored objects (missing ones are skipped). */
  private take(set: Set<string>, res: ResourceType): KObject[] {
    const keys = [...set];
    set.clear();
    const out: KObject[] = [];
    for (const k of keys) {
      const i = k.indexOf('/');
      const o = this.store.peek(res, k.slice(0, i) || undefined, k.slice(i + 1));
      if (o) out.push(o);
    }
    return out;
  }

  private hashOf(d: KObject): string {
    const cached = this.hashes.get(d.metadata.uid);
    if (cached && cached.generation === d.metadata.generation) return cached.hash; // template changes bump generation
    const hash = templateHash(d.spec?.template);
    this.hashes.set(d.metadata.uid, { generation: d.metadata.generation, hash });
    return hash;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearImmediate(this.timer);
    for (const t of this.timers) clearTimeout(t);
  }

  schedule(): void {
    this.dirty = true;
    if (this.running || this.timer || this.stopped) return;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      this.run();
    });
  }

  /** Runs reconcile passes until nothing changes (bounded). */
  run(): void {
    if (this.stopped) return;
    this.running = true;
    try {
      for (let i = 0; i < 20 && this.dirty; i++) {
        this.dirty = false;
        this.pass();
      }
    } finally {
      this.running = false;
    }
    if (this.dirty) this.schedule();
  }

  private pass(): void {
    if (this.full) {
      // First pass (and after a restart of the loop): everything is dirty.
      this.full = false;
      for (const d of this.store.scan(DEPLOYS)) this.onEvent({ type: 'MODIFIED', rv: 0, res: DEPLOYS, obj: d });
      for (const rs of this.store.scan(RSS)) this.onEvent({ type: 'MODIFIED', rv: 0, res: RSS, obj: rs });
      for (const p of this.store.scan(PODS)) this.onEvent({ type: 'MODIFIED', rv: 0, res: PODS, obj: p });
      for (const p of this.store.scan(PVCS)) this.onEvent({ type: 'MODIFIED', rv: 0, res: PVCS, obj: p });
    }
    for (const d of this.take(this.deploySpec, DEPLOYS)) this.deployment(d, this.store.owned(RSS, d.metadata.uid));
    for (const rs of this.take(this.rsSpec, RSS)) this.replicaSet(rs, this.store.owned(PODS, rs.metadata.uid));
    if (this.retryPending && this.pending.size > 0) {
      this.retryPending = false;
      this.scheduler();
    }
    this.kubelet();
    for (const rs of this.take(this.rsStatusSet, RSS)) this.rsStatus(rs, this.store.owned(PODS, rs.metadata.uid));
    for (const d of this.take(this.deployStatus, DEPLOYS)) {
      const rss = this.store.owned(RSS, d.metadata.uid);
      const podsOf = new Map(rss.map((rs) => [rs.metadata.uid as string, this.store.owned(PODS, rs.metadata.uid)]));
      this.deploymentStatus(d, rss, podsOf);
    }
    for (const pvc of this.take(this.pvcs, PVCS)) this.bindPvc(pvc);
  }

  private event(obj: KObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    if (this.opts.events === false) return;
    // Events expire on a real cluster (1 h TTL); here the oldest go once there are too many.
    const max = this.opts.maxEvents ?? 2000;
    if (this.store.count(EVENTS) >= max)
      for (const e of this.store.scan(EVENTS).slice(0, Math.max(1, Math.floor(max / 10)))) this.store.delete(EVENTS, e.metadata.namespace, e.metadata.name);
    const ns = obj.metadata.namespace ?? 'default';
    try {
      this.store.create(
        EVENTS,
        {
          metadata: { generateName: `${obj.metadata.name}.`, namespace: ns },
          involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid },
          reason,
          message,
          type,
          source: { component },
          firstTimestamp: ts(),
          lastTimestamp: ts(),
          count: 1,
          reportingComponent: component,
        },
        ns,
        { internal: true },
      );
    } catch {
      // the namespace is going away; events are best effort
    }
  }

  private deployment(d: KObject, owned: KObject[]): void {
    if (d.metadata.deletionTimestamp) return; // being deleted (finalizers pending): no new ReplicaSets
    const hash = this.hashOf(d);
    const name = `${d.metadata.name}-${hash}`;
    const want = d.spec?.replicas ?? 1;
    const cur = owned.find((rs) => rs.metadata.name === name);
    const old = owned
      .filter((rs) => rs.metadata.name !== name)
      .sort((a, b) => revision(a) - revision(b) || a.metadata.name.localeCompare(b.metadata.name));
    const podsOf = (rs: KObject) => this.store.owned(PODS, rs.metadata.uid).filter((p) => !isTerminal(p));
    const step = rolloutStep({
      want,
      strategy: d.spec?.strategy?.type === 'Recreate' ? 'Recreate' : 'RollingUpdate',
      maxSurge: intOrPercent(d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%', want, true),
      maxUnavailable: intOrPercent(d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%', want, false),
      current: cur ? { replicas: cur.spec?.replicas ?? 0, pods: podsOf(cur).length, ready: podsOf(cur).filter(isPodReady).length } : undefined,
      old: old.map((rs) => ({ replicas: rs.spec?.replicas ?? 0, pods: podsOf(rs).length, ready: podsOf(rs).filter(isPodReady).length })),
    });
    const scale = (rs: KObject, to: number) => {
      const from = rs.spec?.replicas ?? 0;
      if (from === to) return;
      const next = clone(rs);
      next.spec.replicas = to;
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), 'deployment.kubernetes.io/desired-replicas': String(want) };
      this.store.update(RSS, next, next.metadata.namespace, next.metadata.name, { manager: 'kube-controller-manager', internal: true });
      this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`, 'deployment-controller');
    };
    old.forEach((rs, i) => scale(rs, step.old[i]!));
    // Keep at most revisionHistoryLimit scaled-down old ReplicaSets, like the real controller.
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = old.filter((rs, i) => step.old[i] === 0 && podsOf(rs).length === 0);
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) this.store.delete(RSS, rs.metadata.namespace, rs.metadata.name);
    if (cur) {
      scale(cur, step.current);
      return;
    }
    const labels = { ...(d.spec?.template?.metadata?.labels ?? {}), 'pod-template-hash': hash };
    const template = clone(d.spec?.template ?? {});
    template.metadata = { ...(template.metadata ?? {}), labels };
    const rev = Math.max(0, ...old.map(revision)) + 1;
    this.store.create(
      RSS,
      {
        metadata: {
          name,
          namespace: d.metadata.namespace,
          labels,
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(want), 'deployment.kubernetes.io/revision': String(rev) },
          ownerReferences: [ownerRef(d)],
        },
        spec: {
          replicas: step.current,
          selector: { ...(d.spec?.selector ?? {}), matchLabels: { ...(d.spec?.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
          template,
        },
      },
      d.metadata.namespace,
      { manager: 'kube-controller-manager', internal: true },
    );
    this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${step.current}`, 'deployment-controller');
  }

  private replicaSet(rs: KObject, owned: KObject[]): void {
    if (rs.metadata.deletionTimestamp) return; // being deleted (finalizers pending): no new pods
    const want = rs.spec?.replicas ?? 1;
    const pods = owned.filter((p) => !isTerminal(p));
    if (pods.length < want) {
      for (let i = pods.length; i < want; i++) {
        const tpl = clone(rs.spec?.template ?? {});
        const pod = this.store.create(
          PODS,
          {
            metadata: {
              name: `${rs.metadata.name}-${this.store.randomSuffix()}`,
              namespace: rs.metadata.namespace,
              labels: tpl.metadata?.labels ?? {},
              ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}),
              ownerReferences: [{ ...ownerRef(rs), kind: 'ReplicaSet', apiVersion: 'apps/v1' }],
            },
            spec: { restartPolicy: 'Always', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30, ...(tpl.spec ?? {}) },
            status: { phase: 'Pending', qosClass: qos(tpl.spec) },
          },
          rs.metadata.namespace,
          { manager: 'kube-controller-manager', internal: true },
        );
        this.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, 'replicaset-controller');
      }
    } else if (pods.length > want) {
      const rank = (p: KObject) => (!p.spec.nodeName ? 0 : !isPodReady(p) ? 1 : 2);
      const victims = pods
        .slice()
        .sort((a, b) => rank(a) - rank(b) || Number(b.metadata.resourceVersion) - Number(a.metadata.resourceVersion))
        .slice(0, pods.length - want);
      for (const p of victims) {
        this.store.delete(PODS, p.metadata.namespace, p.metadata.name);
        this.readyAt.delete(p.metadata.uid);
        this.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, 'replicaset-controller');
      }
    }
  }

  /** Free capacity per Ready node, after the requests of bound, non-terminal pods. */
  freeByNode(): Map<string, { cpu: number; memory: number; pods: number; node: KObject }> {
    const out = new Map<string, { cpu: number; memory: number; pods: number; node: KObject }>();
    for (const n of this.store.scan(NODES)) {
      const a = n.status?.allocatable ?? {};
      out.set(n.metadata.name, { cpu: milliCpu(a.cpu), memory: bytes(a.memory), pods: Math.floor(parseQuantity(a.pods) ?? 0), node: n });
    }
    for (const p of this.store.scan(PODS)) {
      const f = p.spec?.nodeName ? out.get(p.spec.nodeName) : undefined;
      if (!f || isTerminal(p)) continue;
      const r = podRequests(p.spec);
      f.cpu -= r.cpu;
      f.memory -= r.memory;
      f.pods -= 1;
    }
    return out;
  }

  private scheduler(): void {
    const pending = [...this.pending]
      .map((k) => this.store.peek(PODS, k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)))
      .filter((p): p is KObject => !!p && !p.spec?.nodeName && !isTerminal(p))
      .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || a.metadata.name.localeCompare(b.metadata.name));
    if (pending.length === 0) return;
    const free = this.freeByNode();
    for (const p of pending) {
      const r = podRequests(p.spec);
      const reasons = new Map<string, number>();
      let best: string | undefined;
      let bestScore = -Infinity;
      for (const [name, f] of [...free].sort((a, b) => a[0].localeCompare(b[0]))) {
        const why: string[] = [];
        if (!isNodeReady(f.node)) why.push(f.node.spec?.unschedulable ? 'node(s) were unschedulable' : "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
        else {
          if (f.pods < 1) why.push('Too many pods');
          if (f.cpu < r.cpu) why.push('Insufficient cpu');
          if (f.memory < r.memory) why.push('Insufficient memory');
        }
        if (why.length > 0) {
          for (const w of why) reasons.set(w, (reasons.get(w) ?? 0) + 1);
          continue;
        }
        const alloc = f.node.status?.allocatable ?? {};
        const score = (milliCpu(alloc.cpu) ? f.cpu / milliCpu(alloc.cpu) : 0) + (bytes(alloc.memory) ? f.memory / bytes(alloc.memory) : 0);
        if (score > bestScore) {
          bestScore = score;
          best = name;
        }
      }
      if (best) {
        const f = free.get(best)!;
        f.cpu -= r.cpu;
        f.memory -= r.memory;
        f.pods -= 1;
        this.bind(p, f.node);
      } else {
        const total = free.size;
        const msg = `0/${total} nodes are available: ${[...reasons].map(([w, n]) => `${n} ${w}`).join(', ')}. preemption: 0/${total} nodes are available: ${total} No preemption victims found for incoming pod.`;
        const cond = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg, lastProbeTime: null, lastTransitionTime: ts() };
        const old = ((p.status?.conditions ?? []) as KObject[]).find((c) => c.type === 'PodScheduled');
        if (!old || old.message !== msg) {
          const next = clone(p);
          next.status = { ...(next.status ?? {}), phase: 'Pending', conditions: [cond] };
          this.store.update(PODS, next, p.metadata.namespace, p.metadata.name, { manager: 'kube-scheduler', subresource: 'status' });
          this.event(p, 'Warning', 'FailedScheduling', msg, 'default-scheduler');
        }
      }
    }
  }

  private bind(stored: KObject, node: KObject): void {
    const p = clone(stored);
    const ip = `${this.opts.podIpPrefix ?? '127.2.0.'}${(this.ipCounter++ % 250) + 2}`;
    const hostIp = ((node.status?.addresses ?? []) as KObject[]).find((a) => a.type === 'InternalIP')?.address;
    p.spec.nodeName = node.metadata.name;
    const t = ts();
    p.status = {
      ...(p.status ?? {}),
      phase: 'Running',
      hostIP: hostIp,
      hostIPs: hostIp ? [{ ip: hostIp }] : [],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: t,
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: t, reason: 'ContainersNotReady' },
        { type: 'ContainersReady', status: 'False', lastProbeTime: null, lastTransitionTime: t, reason: 'ContainersNotReady' },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: t },
      ],
      containerStatuses: containerStatuses(p.spec, false, t),
    };
    // Binding writes spec.nodeName (the pods/binding subresource); model it as a controller write.
    this.store.update(PODS, p, p.metadata.namespace, p.metadata.name, { manager: 'kube-scheduler', internal: true });
    this.event(p, 'Normal', 'Scheduled', `Successfully assigned ${p.metadata.namespace}/${p.metadata.name} to ${node.metadata.name}`, 'default-scheduler');
    const delay = this.opts.podReadyDelayMs ?? 0;
    this.readyAt.set(p.metadata.uid, Date.now() + delay);
    if (delay > 0) {
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      const t2 = setTimeout(() => {
        this.timers.delete(t2);
        this.podsToCheck.add(key);
        this.schedule();
      }, delay + 5);
      this.timers.add(t2);
    }
  }

  /** Pod readiness follows the node's Ready condition and the configured start-up delay. */
  private kubelet(): void {
    const nodes = new Map(this.store.scan(NODES).map((n) => [n.metadata.name, n]));
    const pods = this.nodesChanged ? this.store.scan(PODS) : this.take(this.podsToCheck, PODS);
    if (this.nodesChanged) this.podsToCheck.clear();
    this.nodesChanged = false;
    for (const p of pods) {
      if (!p.spec?.nodeName || isTerminal(p)) continue;
      const node = nodes.get(p.spec.nodeName);
      if (!node) {
        this.store.delete(PODS, p.metadata.namespace, p.metadata.name); // pod GC: its node is gone
        continue;
      }
      const nodeReady = ((node.status?.conditions ?? []) as KObject[]).some((c) => c.type === 'Ready' && c.status === 'True');
      const at = this.readyAt.get(p.metadata.uid) ?? 0;
      const ready = nodeReady && Date.now() >= at;
      if (ready === isPodReady(p)) continue;
      const t = ts();
      const s = clone(p.status ?? {});
      s.conditions = ((s.conditions ?? []) as KObject[]).map((c) =>
        c.type === 'Ready' || c.type === 'ContainersReady'
          ? ready
            ? { type: c.type, status: 'True', lastProbeTime: null, lastTransitionTime: t }
            : { ...c, status: 'False', lastTransitionTime: t, reason: nodeReady ? 'ContainersNotReady' : 'NodeNotReady' }
          : c,
      );
      s.containerStatuses = ((s.containerStatuses ?? []) as KObject[]).map((c) => ({ ...c, ready, started: true }));
      this.store.update(PODS, { ...p, status: s }, p.metadata.namespace, p.metadata.name, { manager: 'kubelet', subresource: 'status' });
    }
  }

  private rsStatus(rs: KObject, owned: KObject[]): void {
    const pods = owned.filter((p) => !isTerminal(p));
    const ready = pods.filter(isPodReady).length;
    const status: KObject = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.filter((p) => selectorMatches(rs.spec?.selector, p.metadata.labels)).length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    for (const k of ['readyReplicas', 'availableReplicas', 'fullyLabeledReplicas'] as const) if (status[k] === 0) delete status[k];
    if (deepEqual(rs.status ?? {}, status)) return;
    this.store.update(RSS, { ...rs, status }, rs.metadata.namespace, rs.metadata.name, { manager: 'kube-controller-manager', subresource: 'status' });
  }

  private deploymentStatus(d: KObject, rss: KObject[], podsOf: Map<string, KObject[]>): void {
    const hash = this.hashOf(d);
    let replicas = 0;
    let updated = 0;
    let ready = 0;
    for (const rs of rss) {
      const pods = (podsOf.get(rs.metadata.uid) ?? []).filter((p) => !isTerminal(p));
      replicas += pods.length;
      if (rs.metadata.name === `${d.metadata.name}-${hash}`) updated += pods.length;
      ready += pods.filter(isPodReady).length;
    }
    const want = d.spec?.replicas ?? 1;
    const prev = (d.status?.conditions ?? []) as KObject[];
    const cond = (type: string, status: string, reason: string, message: string): KObject => {
      const old = prev.find((c) => c.type === type);
      const same = old && old.status === status && old.reason === reason;
      return {
        type,
        status,
        lastUpdateTime: same && old.message === message ? old.lastUpdateTime : ts(),
        lastTransitionTime: same ? old.lastTransitionTime : ts(),
        reason,
        message,
      };
    };
    const rsName = `${d.metadata.name}-${hash}`;
    const available = ready >= want;
    const status: KObject = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, want - ready),
      conditions: [
        available
          ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
          : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
        updated >= want && available
          ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`)
          : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`),
      ],
    };
    for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const) if (status[k] === 0) delete status[k];
    if (deepEqual(d.status ?? {}, status)) return;
    this.store.update(DEPLOYS, { ...d, status }, d.metadata.namespace, d.metadata.name, { manager: 'kube-controller-manager', subresource: 'status' });
  }

  private bindPvc(stored: KObject): void {
    if (stored.status?.phase === 'Bound') return;
    let pvc = clone(stored);
    const vol = `pvc-${pvc.metadata.uid}`;
    if (!pvc.spec?.volumeName) {
      pvc.spec = { ...(pvc.spec ?? {}), volumeName: vol };
      pvc = this.store.update(PVCS, pvc, pvc.metadata.namespace, pvc.metadata.name, { manager: 'kube-controller-manager', internal: true });
    }
    pvc.status = {
      phase: 'Bound',
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
    };
    this.store.update(PVCS, pvc, pvc.metadata.namespace, pvc.metadata.name, { manager: 'kube-controller-manager', subresource: 'status' });
  }
}

function qos(spec: KObject | undefined): string {
  const cs = (spec?.containers ?? []) as KObject[];
  const any = cs.some((c) => Object.keys(c.resources?.requests ?? {}).length > 0 || Object.keys(c.resources?.limits ?? {}).length > 0);
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) => {
    const l = c.resources?.limits ?? {};
    const r = c.resources?.requests ?? l;
    return l.cpu && l.memory && String(r.cpu) === String(l.cpu) && String(r.memory) === String(l.memory);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function containerStatuses(spec: KObject, ready: boolean, startedAt: string): KObject[] {
  return ((spec?.containers ?? []) as KObject[]).map((c, i) => ({
    name: c.name,
    image: c.image,
    imageID: `${c.image}@sha256:${createHash('sha256').update(String(c.image)).digest('hex')}`,
    containerID: `containerd://${createHash('sha256').update(`${startedAt}${i}${c.name}${Math.random()}`).digest('hex')}`,
    ready,
    started: true,
    restartCount: 0,
    state: { running: { startedAt } },
  }));
}

const revision = (rs: KObject) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);

/** An IntOrString like maxSurge: 2 or "25%" of `total` (percentages round up for surge, down for unavailable). */
export function intOrPercent(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return Math.max(0, Math.floor(v));
  const m = /^(\d+)%$/.exec(String(v));
  if (!m) return Math.max(0, Math.floor(Number(v) || 0));
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export interface RolloutInput {
  readonly want: number;
  readonly strategy: 'RollingUpdate' | 'Recreate';
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  /** The ReplicaSet of the current template, if it exists. */
  readonly current?: { replicas: number; pods: number; ready: number };
  /** Older ReplicaSets, oldest first. */
  readonly old: readonly { replicas: number; pods: number; ready: number }[];
}

/**
 * One step of a Deployment rollout: the replicas for the current ReplicaSet and each old one.
 * RollingUpdate keeps total pods ≤ want + maxSurge and ready pods ≥ want − maxUnavailable (old
 * not-ready pods go first); Recreate scales old ReplicaSets to 0 and starts new pods once they are gone.
 */
export function rolloutStep(i: RolloutInput): { current: number; old: number[] } {
  const curReplicas = i.current?.replicas ?? 0;
  if (i.old.length === 0) return { current: i.want, old: [] };
  if (i.strategy === 'Recreate') {
    const oldLeft = i.old.reduce((s, o) => s + o.pods, 0);
    return { current: oldLeft > 0 ? 0 : i.want, old: i.old.map(() => 0) };
  }
  const surge = i.maxSurge;
  const unavailable = surge === 0 && i.maxUnavailable === 0 ? 1 : i.maxUnavailable;
  if (i.want === 0) return { current: 0, old: i.old.map(() => 0) };
  const oldReplicas = i.old.reduce((s, o) => s + o.replicas, 0);
  const current = curReplicas > i.want ? i.want : Math.max(curReplicas, Math.min(i.want, i.want + surge - oldReplicas));
  const ready = (i.current?.ready ?? 0) + i.old.reduce((s, o) => s + o.ready, 0);
  let removable = Math.max(0, ready - (i.want - unavailable));
  const old = i.old.map((o) => {
    // Not-ready old pods cost no availability; ready ones only within the budget.
    const notReady = Math.max(0, o.replicas - o.ready);
    const takeReady = Math.min(o.replicas - notReady, removable);
    removable -= takeReady;
    return o.replicas - notReady - takeReady;
  });
  return { current, old };
}
