// Leader election over a coordination.k8s.io/v1 Lease in the host cluster, client-go style:
// the lease is taken when absent, held by us, released, or not renewed for leaseDuration as seen
// by OUR clock (observed-change time, so clock skew between hosts does not matter). Writes use
// resourceVersion, so two candidates racing get one success and one 409.
import type { ClusterApi, Clock, KubeObject } from '../contracts/index';
import { KubeError, sleep } from '../adapters/kube';

export interface LeaderOptions {
  readonly api: ClusterApi;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly clock: Clock;
  readonly onChange: (leader: boolean) => void;
  readonly log: (level: 'info' | 'warn' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
}

const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');

export class LeaderElector {
  private leader = false;
  private observedRv: string | undefined;
  private observedAt = 0;
  private lastRenew = 0;
  private lease: KubeObject | undefined;

  constructor(private readonly o: LeaderOptions) {}

  isLeader(): boolean {
    return this.leader;
  }

  private set(leader: boolean) {
    if (leader === this.leader) return;
    this.leader = leader;
    this.o.log('info', leader ? 'became leader' : 'lost leadership', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
    this.o.onChange(leader);
  }

  /** One attempt to acquire or renew. */
  async tryOnce(signal?: AbortSignal): Promise<boolean> {
    const { api, namespace, name, identity, clock } = this.o;
    const now = clock.now();
    let lease = await api.get('coordination.k8s.io/v1', 'Lease', namespace, name, signal);
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.o.leaseDurationMs / 1000)),
      renewTime: microTime(Date.now()),
    };
    if (!lease) {
      const create = () =>
        api.write({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 } }, signal);
      let ok: boolean;
      try {
        ok = await create();
      } catch (err) {
        // The namespace is created only when it is missing (in a pod it exists: the Role lives there).
        if (!(err instanceof KubeError && err.status === 404)) throw err;
        await api.write({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, signal).catch(() => undefined);
        ok = await create();
      }
      if (ok) this.lastRenew = now;
      return ok;
    }
    const meta = lease.metadata as { resourceVersion?: string };
    const cur = (lease.spec ?? {}) as { holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number; acquireTime?: string };
    if (meta.resourceVersion !== this.observedRv) {
      this.observedRv = meta.resourceVersion;
      this.observedAt = now;
    }
    const held = cur.holderIdentity && cur.holderIdentity !== identity;
    const expired = now - this.observedAt >= (cur.leaseDurationSeconds ?? 0) * 1000;
    if (held && !expired) return false;
    const mine = cur.holderIdentity === identity;
    lease = {
      ...lease,
      spec: {
        ...cur,
        ...spec,
        acquireTime: mine && cur.acquireTime ? cur.acquireTime : spec.renewTime,
        leaseTransitions: (cur.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    const ok = await api.write(lease, signal);
    if (ok) this.lastRenew = now;
    return ok;
  }

  /** Runs until `signal` aborts, then releases the lease if held. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        // Each attempt is bounded well inside renewDeadline, so a hung API cannot stretch a lost lease.
        const ok = await this.tryOnce(AbortSignal.any([signal, AbortSignal.timeout(Math.max(100, Math.floor(this.o.renewDeadlineMs / 2)))]));
        if (ok) this.set(true);
        else if (this.leader && this.o.clock.now() - this.lastRenew > this.o.renewDeadlineMs) this.set(false);
        else if (!this.leader) this.set(false);
      } catch (err) {
        if (signal.aborted) break;
        this.o.log('debug', `lease: ${(err as Error).message}`);
        if (this.leader && this.o.clock.now() - this.lastRenew > this.o.renewDeadlineMs) this.set(false);
      }
      await sleep(this.o.retryPeriodMs, signal);
    }
  }

  /** Gives the lease up (holder cleared) so a standby takes over at once. */
  async release(): Promise<void> {
    if (!this.leader) return;
    this.set(false);
    try {
      const lease = await this.o.api.get('coordination.k8s.io/v1', 'Lease', this.o.namespace, this.o.name);
      const spec = (lease?.spec ?? {}) as { holderIdentity?: string };
      if (!lease || spec.holderIdentity !== this.o.identity) return;
      await this.o.api.write({ ...lease, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) } });
      this.o.log('info', 'released the lease', { lease: `${this.o.namespace}/${this.o.name}` });
    } catch (err) {
      this.o.log('warn', `could not release the lease: ${(err as Error).message}`);
    }
  }
}
