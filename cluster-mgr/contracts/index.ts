// Contracts: the interfaces cluster-mgr's core and daemon talk through. Adapters implement them
// (adapters/), the simulator and tests provide fakes. Keep these small and stable.
import type { PodRef } from '../core/events';
import type { BoundPod, NodeSnapshot, UnschedulablePod } from '../core/scheduling';

/** Injected time source; core logic never reads the wall clock itself. */
export interface Clock {
  /** Milliseconds, monotonic enough for intervals (tests may drive it by hand). */
  now(): number;
}

export const systemClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/** A member's serving state at the traffic layer (HAProxy server state, nginx upstream, DNS record). */
export type ServingState = 'ready' | 'drain' | 'maint';

export interface MemberTraffic {
  readonly state: ServingState;
  /** 0–256 (HAProxy scale); 0 means no new traffic. */
  readonly weight: number;
  /** The traffic layer's own health-check verdict, when it has one (second vantage point). */
  readonly checkUp?: boolean;
}

/** Moves traffic between members: HAProxy runtime API, nginx upstream file, or DNS (RFC 2136). */
export interface TrafficSwitch {
  readonly kind: 'haproxy' | 'nginx' | 'dns' | 'none';
  /** Sets one member's state and weight everywhere it is configured and confirms it by reading back. */
  set(member: string, state: ServingState, weight?: number, signal?: AbortSignal): Promise<void>;
  /** What the traffic layer currently has, per member. */
  observe(signal?: AbortSignal): Promise<Record<string, MemberTraffic>>;
  /** Per endpoint (e.g. each front host's runtime API) whether the last call reached it. @default - not reported */
  endpoints?(): readonly TrafficEndpoint[];
}

/** One endpoint of a traffic switch and whether the last call reached it. */
export interface TrafficEndpoint {
  /** `host:port` or a socket path. */
  readonly endpoint: string;
  readonly up: boolean;
  /** Why it is down (no secrets). */
  readonly error?: string;
}

export type Severity = 'info' | 'warning' | 'critical';

export interface Alert {
  /** Alert name, e.g. `FederationMemberUnhealthy`. */
  readonly name: string;
  readonly severity: Severity;
  /** Identifying labels (member, app, …); name + labels identify the alert for resolve. */
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly description?: string;
}

/** Sends alerts (Alertmanager v2 API, plain webhooks). */
export interface Alerter {
  fire(alert: Alert, signal?: AbortSignal): Promise<void>;
  resolve(alert: Alert, signal?: AbortSignal): Promise<void>;
}

/**
 * Runs jobs on cron schedules (adapters/cron.ts wraps node-cron; tests inject a fake and call
 * `trigger`). Every job stops when `signal` aborts (the daemon's root AbortController).
 */
export interface Scheduler {
  /** `expression` was validated with the Federation (node-cron syntax). `run` must not throw. */
  schedule(name: string, expression: string, run: () => Promise<void>, signal: AbortSignal): ScheduledJob;
}

export interface ScheduledJob {
  readonly name: string;
  readonly expression: string;
  /** The next planned run; undefined once stopped. */
  nextRun(): Date | undefined;
  /** Runs now; while a run is in flight, returns that run (one at a time per job). */
  trigger(): Promise<void>;
  stopped(): boolean;
  stop(): void;
}

/** A scalar PromQL source. */
export interface MetricsSource {
  /**
   * Evaluates an instant query. Resolves to the scalar (sum of a one-sample vector or a scalar);
   * `undefined` when the result is empty. Rejects on HTTP/transport/query errors. May resolve NaN.
   */
  query(promql: string, signal?: AbortSignal): Promise<number | undefined>;
}

// --- Member clusters (added with the control loop; adapters/kube.ts implements it over client-node).

/** cpu in cores, memory in bytes, pods as a count. */
export interface ResourceAmounts {
  readonly cpu: number;
  readonly memory: number;
  readonly pods: number;
}

/** Capacity observed by a member's informers. */
export interface ClusterCapacity {
  /** Allocatable of Ready, schedulable nodes. */
  readonly allocatable: ResourceAmounts;
  /** Requests of non-terminal pods bound to those nodes. */
  readonly allocated: ResourceAmounts;
  readonly readyNodes: number;
  readonly nodes: number;
  /** Every node with its labels, taints, cordon, readiness, allocatable and its pods' requests (scheduling-aware fit). */
  readonly byNode?: readonly NodeSnapshot[];
  /** Pods the scheduler left Pending as Unschedulable, with its message. */
  readonly unschedulablePods?: readonly UnschedulablePod[];
  /** Non-terminal pods bound to a node (namespace, labels). */
  readonly boundPods?: readonly BoundPod[];
}

/** A Deployment cluster-mgr owns on a member (label `app.kubernetes.io/managed-by: cluster-mgr`). */
export interface OwnedDeployment {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/app` of the FederatedApp it belongs to. */
  readonly app: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  /** metadata.generation and status.observedGeneration / updatedReplicas / availableReplicas (readiness: core/readiness). */
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly updatedReplicas?: number;
  readonly availableReplicas?: number;
  /** The pod template's selector (to find the Deployment's pods). */
  readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  /** Template hash annotation written by cluster-mgr. */
  readonly templateHash?: string;
}

/**
 * Why a probe failed: `unreachable`, `timeout`, `unready` (readyz not 200), `no-nodes` — the member is
 * down or unusable; `auth` (401/403) and `tls` (untrusted certificate) — the member answered and
 * cluster-mgr's kubeconfig is wrong; `error` — anything else.
 */
export type ProbeProblem = 'unreachable' | 'timeout' | 'unready' | 'no-nodes' | 'auth' | 'tls' | 'error';
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly problem?: ProbeProblem };

/** A Kubernetes object as plain JSON. */
export type KubeObject = Record<string, unknown> & { metadata?: Record<string, unknown> };

/**
 * What a member's informers saw, for the daemon to requeue only the apps concerned (core/events):
 * `listed` after a (re)list (anything may have changed), an owned Deployment's app, a pod, or a node
 * before and after (undefined when added / deleted).
 */
export type MemberEvent =
  | { readonly kind: 'listed' }
  | { readonly kind: 'deployment'; readonly app: string }
  | { readonly kind: 'pod'; readonly pod: PodRef }
  | { readonly kind: 'node'; readonly before?: NodeSnapshot; readonly after?: NodeSnapshot };

/** One member cluster's API, as the daemon uses it. Every call is bounded by a timeout. */
export interface ClusterApi {
  readonly name: string;
  /** Starts list+watch informers (Nodes, Pods, owned Deployments) until `signal` aborts. */
  start(signal: AbortSignal): void;
  /** All informers have listed at least once. */
  synced(): boolean;
  capacity(): ClusterCapacity;
  owned(): readonly OwnedDeployment[];
  /** One owned Deployment by namespace and name (indexed). */
  findOwned(namespace: string, name: string): OwnedDeployment | undefined;
  /** Pods in `namespace` matching `matchLabels` that are not Ready, with the reason (container waiting reason, scheduler message, phase). */
  notReadyPods?(namespace: string, matchLabels: Readonly<Record<string, string>>): readonly { readonly pod: string; readonly reason: string }[];
  /** `/readyz` plus at least one Ready, schedulable node. */
  probe(signal?: AbortSignal): Promise<ProbeResult>;
  /** Server-side apply (field manager `cluster-mgr`, force). */
  apply(obj: KubeObject, signal?: AbortSignal): Promise<void>;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<KubeObject | undefined>;
  /** Create (no resourceVersion) or replace (with it); resolves false on 409 Conflict/AlreadyExists. */
  write(obj: KubeObject, signal?: AbortSignal): Promise<boolean>;
  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<void>;
  /**
   * Watches `kinds` (of those apps propagate: ConfigMap, Secret, PersistentVolumeClaim, Service,
   * PersistentVolume) on this cluster as the propagation source; `onChange` per object event
   * (namespace '' for PVs). Called again as apps come and go: kinds already watched stay watched.
   * Optional: without it sources are read on each reconcile.
   */
  watchSource?(signal: AbortSignal, onChange: (kind: string, namespace: string, name: string) => void, kinds: readonly string[]): void;
  /** The watched source object: undefined when not watched (yet), null when watched and absent. */
  sourceObject?(kind: string, namespace: string, name: string): KubeObject | null | undefined;
}
