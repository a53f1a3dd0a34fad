// What the daemon's loops (probe, traffic, apps, propagation, autoscale) share: the options, the
// per-member and per-app state they read and write, and the daemon's own services (events, alerts,
// the work queue). The Daemon (./index) owns one and wires the loops to it.
import type { Logger } from 'pino';
import type { App, Federation } from '../config/schema';
import type { MemberHealth } from '../core/health';
import type { MemberCapacity } from '../core/plan';
import type { SpreadResult } from '../core/spread';
import { shareReady, type StuckPod } from '../core/readiness';
import type { MemberPhase } from '../core/traffic-plan';
import type { Alert, Alerter, ClusterApi, Clock, MemberTraffic, Scheduler, TrafficSwitch } from '../contracts/index';
import type { Day2Probe } from '../adapters/day2';
import type { DaemonMetrics } from './metrics';

export interface DaemonOptions {
  readonly federation: Federation;
  /** Apps from the Federation file plus `--apps DIR`. */
  readonly apps: readonly App[];
  /** One ClusterApi per member, by member name. */
  readonly members: ReadonlyMap<string, ClusterApi>;
  /** The host cluster for the Lease (when leaderElection is configured). */
  readonly host?: ClusterApi;
  /** Where `propagate` objects are read from. @default - the first member */
  readonly source?: ClusterApi;
  readonly log: Logger;
  readonly traffic?: TrafficSwitch;
  readonly alerter?: Alerter;
  readonly clock?: Clock;
  /** Total per app from autoscaling (issue 6); absent → app.replicas. */
  readonly desiredOverride?: (key: string) => number | undefined;
  /** The app set changed (config, apps folder, FederatedApp CRs): autoscaling follows it. */
  readonly onAppsChanged?: (apps: readonly App[]) => void;
  readonly workers?: number;
  /**
   * Split-brain guard: a member is drained only when this second vantage point also sees it down.
   * `front`: the traffic layer's own health check (HAProxy `checkUp`); a function: e.g. a witness.
   * @default - no second opinion (cluster-mgr's probes decide alone)
   */
  readonly secondOpinion?: 'front' | ((member: string, signal: AbortSignal) => Promise<boolean | undefined>);
  /** Runs spec.day2 checks on their cron schedules. @default - node-cron (adapters/cron) */
  readonly scheduler?: Scheduler;
  /** Probes behind spec.day2 checks. @default - the real probes, paths taken as given */
  readonly day2Probe?: Day2Probe;
}

export interface StateEvent {
  readonly at: string;
  readonly type: string;
  readonly member?: string;
  readonly app?: string;
  readonly message: string;
  /** The same event happened again this many times in a row (shown once, with the count). */
  readonly repeats?: number;
}

export interface MemberState {
  health: MemberHealth;
  /** Traffic layer: what we last set. */
  traffic: { state: 'ready' | 'drain' | 'maint'; weight: number };
  /** What the traffic layer reported at the last pass (undefined: not observed). */
  observed?: MemberTraffic;
  /** Traffic phase (core/traffic-plan) after the last executed pass. */
  phase?: MemberPhase;
  /** The failover away from this member is held back (last serving member / split-brain guard). */
  blocked?: boolean;
  note?: string;
  /** Set while replicas return after recovery (paced). */
  returning?: { since: number };
  /** Replicas returned but not all ready within readyTimeout: traffic returns anyway (docs/failover.md). */
  returnedDegraded?: boolean;
  /** Replicas are moving away after a drain: fire FederationFailoverDone once they are ready elsewhere. */
  failover?: { since: number; perfSince: number };
  /** Drained (or drain attempted) since it went Unhealthy: replicas may move. */
  drained: boolean;
  lastProbeMs?: number;
}

export interface AppStatus {
  desired: number;
  result?: SpreadResult;
  applied: Record<string, number>;
  /** Last time a returning member gained replicas (clock ms). */
  pacedAt: Record<string, number>;
  /** Member has its full (unpaced) share. */
  full: Record<string, boolean>;
  /** The scheduler's messages for Pending replicas per member, kept while replicas are unschedulable. */
  schedulerMessages?: Record<string, string>;
  lastError?: string;
}

/** Timings of completed failovers (fault detection → drained → replicas ready elsewhere), for /api/state and the bench. */
export interface FailoverTiming {
  readonly member: string;
  readonly unhealthyAt: string;
  readonly drainedAt?: string;
  readonly replicasReadyAt?: string;
  /** ms from Unhealthy to the replicas being ready elsewhere. */
  readonly replicasReadyMs?: number;
  /** Set when the failover completed degraded (readyTimeout): the pods not ready and why. */
  readonly degraded?: string;
}

export const FULL_WEIGHT = 256;

export interface DaemonContext {
  readonly o: DaemonOptions;
  readonly clock: Clock;
  readonly traffic: TrafficSwitch;
  readonly metrics: DaemonMetrics;
  readonly root: AbortController;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failbackAfterMs: number;
  /** health.readyTimeout: ends every wait for replicas to become ready. */
  readonly readyTimeoutMs: number;
  readonly memberState: Map<string, MemberState>;
  readonly appStatus: Map<string, AppStatus>;
  readonly failovers: FailoverTiming[];
  apps(): ReadonlyMap<string, App>;
  isLeader(): boolean;
  event(type: string, message: string, extra?: { member?: string; app?: string }): void;
  enqueueAll(): void;
  alertOnce(op: 'fire' | 'resolve', a: Alert, signal?: AbortSignal): Promise<void>;
}

export function deploymentName(app: App): string {
  return app.template.metadata?.name ?? app.name;
}

/** Whether member `name` runs its whole share of every app and those replicas are ready (core/readiness). */
export function sharesReady(c: Pick<DaemonContext, 'o' | 'apps' | 'appStatus'>, name: string, skip?: (app: App, want: number) => boolean): boolean {
  const api = c.o.members.get(name);
  const apps = c.apps();
  for (const [key, st] of c.appStatus) {
    const app = apps.get(key);
    const want = st.result?.assignments[name] ?? 0;
    if (!app || !api || skip?.(app, want)) continue;
    if (!shareReady(api.findOwned(app.namespace, deploymentName(app)), want)) return false;
  }
  return true;
}

/** The pods of every app that are not ready on `members` (for degraded failovers and failbacks). */
export function stuckPods(c: Pick<DaemonContext, 'o' | 'apps'>, members: readonly string[]): StuckPod[] {
  const out: StuckPod[] = [];
  for (const app of c.apps().values()) {
    const labels = (app.template.spec.selector.matchLabels ?? {}) as Record<string, string>;
    for (const m of members) for (const p of c.o.members.get(m)?.notReadyPods?.(app.namespace, labels) ?? []) out.push({ member: m, ...p });
  }
  return out;
}

export type { MemberCapacity };
