// When a member's share of an app counts as ready, and how long anyone waits for it. Pure.
//
// Ready: the Deployment controller has seen the current spec (status.observedGeneration ≥
// metadata.generation), the Deployment asks for the share (spec.replicas = share), and both
// status.updatedReplicas and status.availableReplicas reach the share — readyReplicas alone also
// counts old-template pods and pods of a spec the controller has not processed yet.
//
// Every wait ends after `readyTimeout` (health.readyTimeout, default 2m): `waitVerdict` says
// `timed-out`, and the caller completes the step degraded (failover) or returns traffic anyway
// (failback), naming the stuck pods — never an unbounded wait.

export interface DeploymentReadiness {
  readonly replicas: number;
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly updatedReplicas?: number;
  readonly availableReplicas?: number;
}

/** Whether `want` replicas of a member's Deployment are ready (see the header). A share of 0 is ready when none is asked for. */
export function shareReady(d: DeploymentReadiness | undefined, want: number): boolean {
  if (!d) return want === 0;
  if (d.replicas !== want) return false;
  if (want === 0) return true;
  return (d.observedGeneration ?? 0) >= (d.generation ?? 0) && (d.updatedReplicas ?? 0) >= want && (d.availableReplicas ?? 0) >= want;
}

export type WaitVerdict = 'ready' | 'waiting' | 'timed-out';

/** A wait that began at `sinceMs`: ready, still waiting, or over (readyTimeout elapsed). */
export function waitVerdict(ready: boolean, sinceMs: number, nowMs: number, readyTimeoutMs: number): WaitVerdict {
  if (ready) return 'ready';
  return nowMs - sinceMs >= readyTimeoutMs ? 'timed-out' : 'waiting';
}

/** One pod that is not ready, and why (container waiting reason, the scheduler's message, or its phase). */
export interface StuckPod {
  readonly member: string;
  readonly pod: string;
  readonly reason: string;
}

/** "bj1-a: shop/web-7d9 ImagePullBackOff (…); …" — at most `max` pods, then "and N more". */
export function describeStuck(pods: readonly StuckPod[], max = 10): string {
  if (pods.length === 0) return 'no pod reported a reason (the Deployment has not created them yet?)';
  const shown = pods.slice(0, max).map((p) => `${p.member}: ${p.pod} ${p.reason}`);
  return `${shown.join('; ')}${pods.length > max ? `; and ${pods.length - max} more` : ''}`;
}
