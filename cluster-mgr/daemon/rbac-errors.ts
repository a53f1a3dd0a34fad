// A 403 anywhere (member clusters, the host cluster's Lease and FederatedApps) is a configuration
// error, never a quiet retry: an error-level log line naming member, verb and resource, the counter
// flotilla_forbidden_total{member,verb,resource}, and a FederationForbidden alert (sent by every
// replica: a 403 on the Lease is exactly why a replica never leads). The alert resolves once the same
// request has not been refused for `resolveAfterMs`.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { requestAttributes } from '../../infra/lib/cluster-mgr-rbac';
import { alerts } from '../contracts/alerts';
import type { Alert } from '../contracts/index';

export interface ForbiddenOptions {
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

export class ForbiddenReporter {
  readonly counter: Counter<'member' | 'verb' | 'resource'>;
  private readonly seen = new Map<string, Seen>();
  private readonly now: () => number;

  constructor(private readonly o: ForbiddenOptions) {
    this.now = o.now ?? Date.now;
    this.counter = new Counter({
      name: 'flotilla_forbidden_total',
      help: 'Requests a cluster refused with 403 Forbidden, by member, verb and resource (cluster-mgr RBAC is missing something)',
      labelNames: ['member', 'verb', 'resource'],
      registers: [o.registry],
    });
  }

  /** The hook for one cluster (KubeClientOptions.onForbidden). */
  hook(member: string): (f: { method: string; path: string; message: string }) => void {
    return (f) => this.report(member, f.method, f.path, f.message);
  }

  report(member: string, method: string, path: string, message: string): void {
    const { verb, resource, namespace } = requestAttributes(method, path);
    this.counter.inc({ member, verb, resource });
    const key = `${member}\0${verb}\0${resource}`;
    const now = this.now();
    let s = this.seen.get(key);
    if (!s) {
      s = { last: now, logged: -Infinity, count: 0, alert: alerts.forbidden(member, verb, resource, message) };
      this.seen.set(key, s);
      void this.o.alert('fire', s.alert);
    }
    s.last = now;
    s.count++;
    if (now - s.logged >= (this.o.logEveryMs ?? 60_000)) {
      s.logged = now;
      this.o.log.error({ member, verb, resource, ...(namespace ? { namespace } : {}), count: s.count, apiMessage: message }, `forbidden: cluster-mgr may not ${verb} ${resource} on ${member}; grant it in cluster-mgr's RBAC there`);
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
