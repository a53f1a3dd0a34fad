// Wires a loaded Federation to real members (client-node adapter), the HTTP server and signals.
import { watch, type FSWatcher } from 'node:fs';
import pino, { type Logger } from 'pino';
import { parseDuration } from '../../infra/site/units';
import { KubeMember } from '../adapters/kube';
import { formatError, loadAppsDir, resolveFrom, type App, type Federation } from '../config/index';
import type { Alerter, ClusterApi, TrafficSwitch } from '../ports/index';
import { startServer, type ListenAddress } from '../server/index';
import { createCrApps } from './cr-apps';
import { Daemon } from './index';

export interface RunOptions {
  readonly federation: Federation;
  readonly configFile: string;
  readonly apps: readonly App[];
  readonly appsDir?: string;
  readonly listen: ListenAddress;
  readonly log?: Logger;
  /** Adapters from issue 6 (traffic switching, alerting); no-op when absent. */
  readonly traffic?: TrafficSwitch;
  readonly alerter?: Alerter;
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
  const onChange = () => ref.daemon?.notifyChange();
  const kubeLog = (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => log[level](fields ?? {}, msg);
  const members = new Map<string, ClusterApi>();
  for (const m of spec.members) {
    members.set(
      m.name,
      new KubeMember({ name: m.name, kubeconfig: resolveFrom(o.configFile, m.kubeconfig), ...(m.context ? { context: m.context } : {}), timeoutMs, probeTimeoutMs, onChange, log: kubeLog }),
    );
  }
  const first = spec.members[0]!.name;
  const le = spec.leaderElection;
  const host = le
    ? le.kubeconfig
      ? new KubeMember({ name: 'host', kubeconfig: resolveFrom(o.configFile, le.kubeconfig), timeoutMs, log: kubeLog })
      : members.get(le.member ?? first)
    : undefined;
  const src = spec.source;
  const source = src?.kubeconfig ? new KubeMember({ name: 'source', kubeconfig: resolveFrom(o.configFile, src.kubeconfig), timeoutMs, log: kubeLog }) : members.get(src?.member ?? first);
  // spec.appSources.crs: FederatedApp CRs in the host cluster, merged with the configured apps (cr-apps.ts).
  const crSource = createCrApps({ federation: o.federation, configFile: o.configFile, configured: o.apps, memberApis: members, log, timeoutMs });
  const daemon = new Daemon({
    federation: o.federation,
    apps: o.apps,
    members,
    ...(host ? { host } : {}),
    ...(source ? { source } : {}),
    log,
    ...(o.traffic ? { traffic: o.traffic } : {}),
    ...(o.alerter ? { alerter: o.alerter } : {}),
  });
  ref.daemon = daemon;
  const http = await startServer(daemon, o.listen);
  daemon.start();
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
