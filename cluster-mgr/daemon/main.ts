// Wires a loaded Federation to real members (client-node adapter), the HTTP server and signals.
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { parseDuration } from '../../infra/lib/units';
import { AlertmanagerAlerter } from '../adapters/alertmanager';
import { day2Probe } from '../adapters/day2';
import { buildAlerter, buildTrafficSwitch, buildWitness } from '../adapters/factory';
import { inClusterAvailable } from '../adapters/in-cluster';
import { KubeMember, type AuthError, type KubeClientOptions } from '../adapters/kube';
import { FanoutAlerter } from '../adapters/webhook';
import { formatError, loadAppsDir, resolveFrom, type App, type Federation } from '../config/index';
import type { LeaderElection } from '../config/schema';
import type { Alerter, ClusterApi, MemberEvent, TrafficSwitch } from '../contracts/index';
import { startServer, type ListenAddress } from '../server/index';
import { AppAutoscaling } from './autoscale';
import { createCrApps } from './cr-apps';
import { Daemon } from './index';
import { PendingMember } from './pending-member';
import { AuthErrorReporter } from './rbac-errors';

export interface RunOptions {
  readonly federation: Federation;
  readonly configFile: string;
  readonly apps: readonly App[];
  readonly appsDir?: string;
  readonly listen: ListenAddress;
  readonly log?: Logger;
  /** Traffic switch / alerter override. @default - built from the Federation's `traffic:` / `alerting:` blocks */
  readonly traffic?: TrafficSwitch;
  readonly alerter?: Alerter;
  /** Bearer token required on /api/state and /metrics (non-loopback listen). */
  readonly token?: string;
}

/** A configuration problem found while building the adapters (exit 2 with these messages). */
export class AdapterConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export interface Running {
  readonly daemon: Daemon;
  readonly url: string;
  stop(): Promise<void>;
}

export async function runDaemon(o: RunOptions): Promise<Running> {
  const log = o.log ?? pino({ base: { svc: 'cluster-mgr', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
  const spec = o.federation.spec;
  const probeTimeoutMs = parseDuration(spec.health.timeout)!;
  const timeoutMs = spec.health.requestTimeout ? parseDuration(spec.health.requestTimeout)! : Math.max(5000, 5 * probeTimeoutMs);
  const ref: { daemon?: Daemon } = {};
  const kubeLog = (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => log[level](fields ?? {}, msg);
  // 401s and 403s (members, Lease, CRs) → log line, metric, alert (rbac-errors.ts); wired once the daemon exists.
  const forbidden: { reporter?: AuthErrorReporter } = {};
  const onAuthError = (name: string) => (f: AuthError) => forbidden.reporter?.report(name, f);
  const members = new Map<string, ClusterApi>();
  for (const m of spec.members) {
    const kubeconfig = resolveFrom(o.configFile, m.kubeconfig);
    const create = () => new KubeMember({ name: m.name, kubeconfig, ...(m.context ? { context: m.context } : {}), timeoutMs, probeTimeoutMs, onEvent: (e: MemberEvent) => ref.daemon?.onMemberEvent(m.name, e), log: kubeLog, onAuthError: onAuthError(m.name) });
    // A kubeconfig missing at start (`run` lets that pass for some members): stand in and retry.
    members.set(m.name, existsSync(kubeconfig) ? create() : new PendingMember({ name: m.name, kubeconfig, create, onState: (p) => forbidden.reporter?.memberConfig(m.name, p) }));
  }
  const first = spec.members[0]!.name;
  const le = spec.leaderElection;
  const host = le ? hostCluster(le, o.configFile, { timeoutMs, log: kubeLog, onAuthError: onAuthError('host') }) ?? members.get(le.member ?? first) : undefined;
  const src = spec.source;
  const source = src?.kubeconfig ? new KubeMember({ name: 'source', kubeconfig: resolveFrom(o.configFile, src.kubeconfig), timeoutMs, log: kubeLog }) : members.get(src?.member ?? first);
  // Issue 6 adapters from the Federation's traffic:/alerting:/prometheus: blocks (G's factory).
  const baseDir = dirname(resolve(o.configFile));
  let traffic = o.traffic;
  if (!traffic) {
    const built = buildTrafficSwitch(spec.traffic, spec.members, { baseDir });
    if (!built.ok) throw new AdapterConfigError(built.errors);
    traffic = built.value;
  }
  const alerter = o.alerter ?? buildAlerter(spec.alerting, { labels: { federation: o.federation.metadata.name } });
  const witness = buildWitness(spec.traffic);
  const guard = spec.traffic?.secondOpinion ?? (witness ? 'witness' : 'none');
  if (guard === 'witness' && !witness) throw new AdapterConfigError(['traffic.secondOpinion: "witness" needs traffic.witness.url; set it or use "front" / "none"']);
  if (guard === 'front' && !spec.traffic?.haproxy) throw new AdapterConfigError(['traffic.secondOpinion: "front" needs traffic.haproxy (its health checks are the second vantage point); configure it or use "witness" / "none"']);
  const secondOpinion = guard === 'front' ? ('front' as const) : guard === 'witness' && witness ? (m: string, signal: AbortSignal) => witness.check(m, signal) : undefined;
  const autoscaling = new AppAutoscaling();
  // spec.appSources.crs: FederatedApp CRs in the host cluster, merged with the configured apps (cr-apps.ts).
  const crSource = createCrApps({ federation: o.federation, configFile: o.configFile, configured: o.apps, memberApis: members, log, timeoutMs, onAuthError: onAuthError('host') });
  const daemon = new Daemon({
    federation: o.federation,
    apps: o.apps,
    members,
    ...(host ? { host } : {}),
    ...(source ? { source } : {}),
    log,
    traffic,
    ...(alerter ? { alerter } : {}),
    ...(secondOpinion ? { secondOpinion } : {}),
    desiredOverride: (key) => autoscaling.desired(key),
    onAppsChanged: (apps) => autoscaling.update(apps),
    // spec.day2 paths (backup folders, snapshot folders, sync status files) are Federation-relative.
    day2Probe: day2Probe((p) => resolveFrom(o.configFile, p)),
  });
  ref.daemon = daemon;
  forbidden.reporter = new AuthErrorReporter({ log, registry: daemon.metrics.registry, alert: (op, a) => daemon.alertOnce(op, a, undefined, { anyReplica: true }) });
  forbidden.reporter.start(daemon.signal);
  const http = await startServer(daemon, o.listen, o.token ? { token: o.token } : {});
  daemon.start();
  log.info({ traffic: traffic.kind, alerting: !!alerter, secondOpinion: guard }, 'adapters');

  // Alertmanager forgets alerts after resolve_timeout unless they are re-sent.
  const ams = alerter instanceof AlertmanagerAlerter ? [alerter] : alerter instanceof FanoutAlerter ? alerterTargets(alerter) : [];
  if (ams.length > 0) {
    const t = setInterval(() => ams.forEach((a) => void a.resendActive(daemon.signal).catch(() => undefined)), 60_000);
    daemon.signal.addEventListener('abort', () => clearInterval(t), { once: true });
  }

  autoscaling.start({
    federation: o.federation,
    apps: o.apps,
    log,
    signal: daemon.signal,
    onChange: () => daemon.notifyChange(),
    alertOnce: (op, a, s) => daemon.alertOnce(op, a, s),
    memberServing: (m) => daemon.memberServing(m),
    metrics: daemon.metrics,
  });
  log.info({ url: http.url }, 'listening');
  const crApps = crSource?.start(daemon);

  // --apps DIR: reload on change (debounced); a bad document keeps the previous set and logs why.
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  if (o.appsDir) {
    const dir = o.appsDir;
    const fileApps = spec.apps;
    const names = spec.members.map((m) => m.name);
    watcher = watch(dir, () => {
      clearTimeout(debounce);
      debounce = setTimeout(async () => {
        const r = await loadAppsDir(dir, names);
        if (!r.ok) {
          log.error({ errors: r.errors.map(formatError) }, 'apps folder invalid; keeping the previous apps');
          return;
        }
        if (crApps) crApps.setConfigured([...fileApps, ...r.value]);
        else daemon.setApps([...fileApps, ...r.value]);
        log.info({ apps: fileApps.length + r.value.length }, 'apps reloaded');
      }, 300);
    });
  }
  return {
    daemon,
    url: http.url,
    async stop() {
      watcher?.close();
      clearTimeout(debounce);
      await daemon.stop();
      await http.close();
    },
  };
}

/**
 * The Lease's host cluster when it is not a member: the pod's own service account
 * (`leaderElection.inCluster` inside a pod), else `leaderElection.kubeconfig`; undefined → a member.
 */
function hostCluster(le: LeaderElection, configFile: string, o: Pick<KubeClientOptions, 'timeoutMs' | 'log' | 'onAuthError'>): KubeMember | undefined {
  if (le.inCluster && inClusterAvailable()) return new KubeMember({ name: 'host', kubeconfig: '(in-cluster)', inCluster: true, ...o });
  if (le.kubeconfig) return new KubeMember({ name: 'host', kubeconfig: resolveFrom(configFile, le.kubeconfig), ...o });
  return undefined;
}

function alerterTargets(f: FanoutAlerter): AlertmanagerAlerter[] {
  const t = (f as unknown as { targets?: unknown[] }).targets ?? [];
  return t.filter((x): x is AlertmanagerAlerter => x instanceof AlertmanagerAlerter);
}
