// A refused request is a configuration error, never a quiet retry:
//   403 Forbidden (RBAC lacks a verb) → error log line naming member, verb and resource, the counter
//       flotilla_forbidden_total{member,verb,resource}, a FederationForbidden alert;
//   401 Unauthorized (wrong or expired token) → error log line, flotilla_unauthorized_total{member},
//       a FederationUnauthorized alert.
// Alerts are sent by every replica (a 403 on the Lease is exactly why a replica never leads) and
// resolve once the same refusal has not recurred for `resolveAfterMs`. The request itself is retried
// by its loop (informer backoff, probes, the work queue) as before.
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { requestAttributes } from '../../infra/lib/cluster-mgr-rbac';
import type { AuthError } from '../adapters/kube';
import { alerts } from '../contracts/alerts';
import type { Alert } from '../contracts/index';

export interface AuthErrorOptions {
  readonly log: Logger;
  readonly registry: Registry;
  readonly alert: (op: 'fire' | 'resolve', a: Alert) => Promise<void>;
  /** Log the same refusal again at most this often (ms). @default 60 s */
  readonly logEveryMs?: number;
  /** Resolve the alert after this long without the same refusal (ms). @default 5 min */
  readonly resolveAfterMs?: number;
  readonly now?: () => number;
}

interface Seen {
  last: number;
  logged: number;
  count: number;
  alert: Alert;
}

export class AuthErrorReporter {
  readonly forbidden: Counter<'member' | 'verb' | 'resource'>;
  readonly unauthorized: Counter<'member'>;
  readonly kubeconfigMissing: Gauge<'member'>;
  private readonly missing = new Map<string, { alert: Alert; logged: number }>();
  private readonly seen = new Map<string, Seen>();
  private readonly now: () => number;

  constructor(private readonly o: AuthErrorOptions) {
    this.now = o.now ?? Date.now;
    this.forbidden = new Counter({
      name: 'flotilla_forbidden_total',
      help: 'Requests a cluster refused with 403 Forbidden, by member, verb and resource (cluster-mgr RBAC is missing something)',
      labelNames: ['member', 'verb', 'resource'],
      registers: [o.registry],
    });
    this.unauthorized = new Counter({
      name: 'flotilla_unauthorized_total',
      help: "Requests a cluster refused with 401 Unauthorized (cluster-mgr's token for it is wrong or expired)",
      labelNames: ['member'],
      registers: [o.registry],
    });
    this.kubeconfigMissing = new Gauge({
      name: 'flotilla_member_kubeconfig_missing',
      help: "1 while a member's kubeconfig is missing or unusable (cluster-mgr retries every probe)",
      labelNames: ['member'],
      registers: [o.registry],
    });
  }

  /** A member's kubeconfig is missing/unusable (`problem`) or usable again (undefined): gauge, log line, alert. */
  memberConfig(member: string, problem: string | undefined): void {
    const cur = this.missing.get(member);
    this.kubeconfigMissing.set({ member }, problem ? 1 : 0);
    if (!problem) {
      if (!cur) return;
      this.missing.delete(member);
      this.o.log.info({ member }, `member ${member}: kubeconfig loaded`);
      void this.o.alert('resolve', cur.alert);
      return;
    }
    const now = this.now();
    if (!cur) {
      const alert = alerts.memberKubeconfigMissing(member, problem);
      this.missing.set(member, { alert, logged: now });
      void this.o.alert('fire', alert);
    } else if (now - cur.logged < (this.o.logEveryMs ?? 60_000)) return;
    else cur.logged = now;
    this.o.log.error({ member }, `member ${member}: ${problem}`);
  }

  report(member: string, e: AuthError): void {
    const { verb, resource, namespace } = requestAttributes(e.method, e.path);
    const now = this.now();
    const key = e.status === 403 ? `403\0${member}\0${verb}\0${resource}` : `401\0${member}`;
    if (e.status === 403) this.forbidden.inc({ member, verb, resource });
    else this.unauthorized.inc({ member });
    let s = this.seen.get(key);
    if (!s) {
      const alert = e.status === 403 ? alerts.forbidden(member, verb, resource, e.message) : alerts.unauthorized(member, e.message);
      s = { last: now, logged: -Infinity, count: 0, alert };
      this.seen.set(key, s);
      void this.o.alert('fire', alert);
    }
    s.last = now;
    s.count++;
    if (now - s.logged < (this.o.logEveryMs ?? 60_000)) return;
    s.logged = now;
    if (e.status === 403) {
      this.o.log.error(
        { member, verb, resource, ...(namespace ? { namespace } : {}), count: s.count, apiMessage: e.message },
        `forbidden: cluster-mgr may not ${verb} ${resource} on ${member}; grant it in cluster-mgr's RBAC there (the member ClusterRole, or the host Role for leases/federatedapps)`,
      );
    } else {
      this.o.log.error({ member, count: s.count, apiMessage: e.message }, `unauthorized: ${member} rejected cluster-mgr's credentials (HTTP 401); the token in its kubeconfig is wrong or expired — renew it (pulumi up rebuilds the cluster-mgr-kubeconfigs Secret)`);
    }
  }

  /** Resolves alerts whose refusal has not recurred for resolveAfterMs (called periodically). */
  sweep(): void {
    const now = this.now();
    for (const [key, s] of this.seen) {
      if (now - s.last < (this.o.resolveAfterMs ?? 300_000)) continue;
      this.seen.delete(key);
      void this.o.alert('resolve', s.alert);
    }
  }

  /** Runs `sweep` every `everyMs` until `signal` aborts. */
  start(signal: AbortSignal, everyMs = 30_000): void {
    const t = setInterval(() => this.sweep(), everyMs);
    t.unref();
    signal.addEventListener('abort', () => clearInterval(t), { once: true });
  }
}
