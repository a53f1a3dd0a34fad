// The apps loop's worker: reconciles one app (work-queue key) from OBSERVED state — informer caches,
// member health and capacity — into the replica split (core/spread), paced while a recovered member's
// replicas return, and writes Deployments (and propagated objects) only while this daemon leads.
import type { App } from '../config/schema';
import { isServing } from '../core/health';
import { checkCapacity, roomMemo, selects, spreadInputFor, withSchedulerReason, type MemberCapacity } from '../core/plan';
import { divideReplicas, paceReturn, type SpreadResult } from '../core/spread';
import { alerts } from '../contracts/alerts';
import type { ClusterApi, KubeObject } from '../contracts/index';
import { canaryName } from '../../infra/lib/canary';
import { waitVerdict, describeStuck } from '../core/readiness';
import { syncCanary } from './canary';
import { deploymentName, sharesReady, stuckPods, type AppStatus, type DaemonContext } from './context';
import { deploymentFor, templateHash, type Propagator } from './propagation';

const definedOnly = (r: Readonly<Record<string, string | undefined>>): Record<string, string> =>
  Object.fromEntries(Object.entries(r).filter((e): e is [string, string] => e[1] !== undefined));

/** The split with AuthFailed members' replicas kept where they run (and the original desired total). */
function withKept(r: SpreadResult, kept: Readonly<Record<string, number>>, desired: number): SpreadResult {
  const names = Object.keys(kept);
  if (names.length === 0) return r;
  const assignments = { ...r.assignments };
  const reasons = { ...r.reasons };
  for (const n of names) {
    assignments[n] = kept[n]!;
    reasons[n] = `auth failed: ${kept[n]!} replica(s) kept, nothing written until cluster-mgr's credentials work`;
  }
  return { ...r, desired, assignments, reasons };
}

export class AppReconciler {
  private readonly lastCapacity = new Map<string, MemberCapacity>();
  /** The node filter per member snapshot and placement (snapshots are cached until an informer changes). */
  private readonly memo = roomMemo();
  /** The capacity problems last logged per member (logged again only when they change). */
  private readonly capacityProblems = new Map<string, string>();

  constructor(
    private readonly c: DaemonContext,
    private readonly propagation: Propagator,
  ) {}

  /** Members replicas may run on now: serving, or Unhealthy but not yet drained (traffic first). */
  schedulable(name: string): boolean {
    const st = this.c.memberState.get(name)!;
    return isServing(st.health.state) || (st.health.state === 'Unhealthy' && !st.drained);
  }

  /** AuthFailed (401/403) and not drained: its replicas stay as they are and nothing is written there. */
  frozen(name: string): boolean {
    const st = this.c.memberState.get(name)!;
    return st.health.state === 'AuthFailed' && !st.drained;
  }

  private capacityOf(name: string, api: ClusterApi): MemberCapacity {
    const healthy = this.schedulable(name) && api.synced();
    if (api.synced()) {
      const c = api.capacity();
      const { capacity: cap, problems } = checkCapacity({
        healthy,
        allocatable: c.allocatable,
        allocated: c.allocated,
        ...(c.byNode ? { nodes: c.byNode } : {}),
        ...(c.unschedulablePods ? { unschedulablePods: c.unschedulablePods } : {}),
        ...(c.boundPods ? { boundPods: c.boundPods } : {}),
      });
      const said = problems.join('; ');
      if (said !== (this.capacityProblems.get(name) ?? '')) {
        if (said) this.c.o.log.warn({ member: name, problems }, 'capacity amounts that are not finite numbers >= 0: member gets no replicas until they are');
        this.capacityProblems.set(name, said);
      }
      this.lastCapacity.set(name, cap);
      return cap;
    }
    const last = this.lastCapacity.get(name);
    return last ? { ...last, healthy } : { healthy: false, allocatable: { cpu: 0, memory: 0, pods: 0 }, allocated: { cpu: 0, memory: 0, pods: 0 } };
  }

  /** The work-queue handler. */
  async reconcile(key: string): Promise<void> {
    const app = this.c.apps().get(key);
    if (!app || this.c.root.signal.aborted) return;
    const end = this.c.metrics.reconcileDuration.startTimer();
    try {
      await this.reconcileApp(key, app);
    } finally {
      end();
    }
  }

  private async reconcileApp(key: string, app: App): Promise<void> {
    const { o, memberState, metrics } = this.c;
    const fedMembers = o.federation.spec.members;
    // Never decide from a partial view: a serving member whose caches have not listed yet would look
    // empty and lose its replicas (fatal after a restart). The periodic resync retries.
    if (fedMembers.some((m) => this.schedulable(m.name) && !o.members.get(m.name)!.synced())) return;
    const depName = deploymentName(app);
    const capacity: Record<string, MemberCapacity> = {};
    const current: Record<string, number> = {};
    const observed: Record<string, { replicas: number; hash?: string } | undefined> = {};
    const kept: Record<string, number> = {};
    for (const m of fedMembers) {
      const api = o.members.get(m.name)!;
      capacity[m.name] = this.capacityOf(m.name, api);
      const d = api.findOwned(app.namespace, depName);
      observed[m.name] = d ? { replicas: d.replicas, ...(d.templateHash ? { hash: d.templateHash } : {}) } : undefined;
      // A member that is not serving contributes nothing now (its replicas are being replaced).
      current[m.name] = this.schedulable(m.name) ? (d?.replicas ?? 0) : 0;
      if (this.frozen(m.name)) kept[m.name] = d?.replicas ?? 0;
    }
    const desired = o.desiredOverride?.(key) ?? app.replicas;
    // AuthFailed members keep what runs there (no failover, no writes): the others share the rest.
    const keptTotal = app.placement.spread === 'duplicate' ? 0 : Object.values(kept).reduce((a, b) => a + b, 0);
    const input = spreadInputFor(app, Math.max(0, desired - keptTotal), fedMembers, capacity, current, this.memo);
    const status: AppStatus = this.c.appStatus.get(key) ?? { desired, applied: {}, pacedAt: {}, full: {} };
    const divided = divideReplicas(input);
    // The scheduler's words stay with the app while replicas are unschedulable: once the Pending pods
    // are scaled away, the reason they were Pending is still the reason (core/plan withSchedulerReason).
    status.schedulerMessages = divided.unschedulable > 0 ? { ...status.schedulerMessages, ...definedOnly(input.schedulerMessages) } : undefined;
    const result = withKept(withSchedulerReason(divided, status.schedulerMessages ?? {}), kept, desired);
    const returning = new Set(fedMembers.filter((m) => memberState.get(m.name)!.returning).map((m) => m.name));
    let target = result.assignments;
    let goal = result.assignments;
    if (returning.size > 0) {
      // Failback: the goal is the exact fair split (no tolerance), reached in paced steps — a
      // returning member gains at most `step` replicas per interval.
      goal = divideReplicas({ ...input, exact: true }).assignments;
      const now = this.c.clock.now();
      const steps = o.federation.spec.health.failbackSteps;
      const limits = [...returning].map((n) => (now - (status.pacedAt[n] ?? 0) >= this.c.intervalMs ? Math.max(1, Math.ceil((goal[n] ?? 0) / steps)) : 0));
      target = paceReturn(current, goal, returning, Math.min(...limits));
      for (const n of returning) if ((target[n] ?? 0) > (current[n] ?? 0)) status.pacedAt[n] = now;
    }
    for (const m of fedMembers) status.full[m.name] = (target[m.name] ?? 0) >= (goal[m.name] ?? 0);
    status.desired = desired;
    status.result = { ...result, assignments: target };
    this.c.appStatus.set(key, status);
    for (const m of fedMembers) metrics.assigned.set({ app: key, member: m.name }, target[m.name] ?? 0);
    metrics.unschedulable.set({ app: key }, result.unschedulable);
    const unsched = alerts.replicasUnschedulable(app.namespace, app.name, result.unschedulable, result.unschedulableReason ?? 'no member has room');
    if (result.unschedulable > 0) void this.c.alertOnce('fire', unsched);
    else void this.c.alertOnce('resolve', unsched);

    if (!this.c.isLeader()) return;
    const hash = templateHash(app);
    const errors: string[] = [];
    const otherServing = fedMembers.some((m) => isServing(memberState.get(m.name)!.health.state));
    const opSignal = () => AbortSignal.any([this.c.root.signal, AbortSignal.timeout(60_000)]);
    await Promise.all(
      fedMembers.map(async (m) => {
        const api = o.members.get(m.name)!;
        const state = memberState.get(m.name)!.health.state;
        let want = target[m.name] ?? 0;
        const obs = observed[m.name];
        if (!this.schedulable(m.name)) {
          // Unreachable (Unhealthy) members are not written; a Recovering member (its API answers)
          // is scaled to 0 so that its replicas return later in paced steps — unless nothing else serves.
          if (state !== 'Recovering' || !otherServing || !obs || obs.replicas === 0) return;
          want = 0;
        }
        if (!selects(app, m) && !obs) return;
        const stable = deploymentFor(app, want, hash, o.federation.metadata.name);
        try {
          const signal = opSignal();
          // Namespace, then the propagated objects, then the Deployment that mounts them. A missing
          // Deployment re-asserts the namespace (deleted by hand → recreated, copies written again).
          if (!obs) await this.propagation.ensureNamespace(m.name, api, app.namespace, signal, true);
          await this.propagation.sync(app, api, signal, { verify: !obs });
        } catch (err) {
          errors.push(`${m.name}: propagate: ${(err as Error).message}`);
          return;
        }
        if (obs && obs.replicas === want && obs.hash === hash) return this.canary(app, api, stable, errors);
        try {
          const signal = opSignal();
          await api.apply(stable, signal);
          await this.canary(app, api, stable, errors);
          status.applied[m.name] = want;
          o.log.info({ app: key, member: m.name, replicas: want, was: obs?.replicas ?? null }, 'applied deployment');
          if (obs && obs.replicas !== want) this.c.event('scaled', `${key} on ${m.name}: ${obs.replicas} → ${want}`, { member: m.name, app: key });
        } catch (err) {
          errors.push(`${m.name}: ${(err as Error).message}`);
        }
      }),
    );
    // Failback: once a returning member has its full share in every app and it is ready, the next
    // traffic pass ramps its traffic back over failbackAfter. The rule when that takes longer than
    // readyTimeout (docs/failover.md): traffic returns anyway — the member is healthy and its ready
    // pods serve — and FederationFailbackDegraded names the pods that are not ready.
    for (const name of returning) {
      const st = memberState.get(name)!;
      if (!st.returning) continue;
      const verdict = waitVerdict(this.allReturned(name), st.returning.since, this.c.clock.now(), this.c.readyTimeoutMs);
      if (verdict === 'waiting') continue;
      st.returning = undefined;
      if (verdict === 'ready') {
        this.c.event('replicas-returned', `${name}: replicas back and ready; traffic ramps over ${o.federation.spec.health.failbackAfter}`, { member: name });
        continue;
      }
      st.returnedDegraded = true;
      const detail = `replicas not all ready after readyTimeout ${o.federation.spec.health.readyTimeout}; traffic returns anyway: ${describeStuck(stuckPods(this.c, [name]))}`;
      this.c.event('failback-degraded', `${name}: ${detail}`, { member: name });
      void this.c.alertOnce('fire', alerts.failbackDegraded(name, detail));
    }
    // A degraded failback resolves once the member's pods are all ready after all.
    for (const m of fedMembers) {
      const st = memberState.get(m.name)!;
      if (st.returnedDegraded && !st.returning && this.allReturned(m.name)) {
        st.returnedDegraded = undefined;
        void this.c.alertOnce('resolve', alerts.failbackDegraded(m.name, 'replicas ready'));
      }
    }
    if (errors.length > 0) {
      status.lastError = errors.join('; ');
      throw new Error(errors.join('; '));
    }
    status.lastError = undefined;
  }

  /** The app's canary on one member (daemon/canary.ts); a failure is one more error of this pass. */
  private async canary(app: App, api: ClusterApi, stable: KubeObject, errors: string[]): Promise<void> {
    if (!app.canary && !api.findOwned(app.namespace, canaryName(deploymentName(app)))) return;
    try {
      await syncCanary(this.c, app, api, stable, AbortSignal.any([this.c.root.signal, AbortSignal.timeout(60_000)]));
    } catch (err) {
      errors.push(`${api.name}: canary: ${(err as Error).message}`);
    }
  }

  /** A returning member has its full share of every app, and those replicas are ready (core/readiness). */
  allReturned(member: string): boolean {
    for (const st of this.c.appStatus.values()) if (st.full[member] === false) return false;
    return sharesReady(this.c, member, (_, want) => want === 0);
  }
}
