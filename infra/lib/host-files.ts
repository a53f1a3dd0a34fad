// Where each synthesized host file goes on its node: the one table the renderers (default
// hostPath), the Pulumi host layer and `flotilla install` all read.

/** Default host paths, also the renderers' defaults. */
export const HOST_PATHS = {
  apiKeepalivedConf: '/etc/keepalived/keepalived.conf',
  checkApiserver: '/etc/keepalived/check_apiserver.sh',
  apiHaproxyCfg: '/etc/haproxy/haproxy.cfg',
  edgeKeepalivedConf: '/etc/keepalived/keepalived-edge.conf',
  staticPods: '/etc/kubernetes/manifests',
  containerdCertsDir: '/etc/containerd/certs.d',
  containerdConfig: '/etc/containerd/config.toml',
  containerdDropInDir: '/etc/containerd/conf.d',
  logCleanupScript: '/usr/local/sbin/flotilla-log-cleanup',
  logCleanupCron: '/etc/cron.d/flotilla-log-cleanup',
  /** Front hosts run Debian's haproxy and keepalived services: their default config paths. */
  frontHaproxyCfg: '/etc/haproxy/haproxy.cfg',
  frontKeepalivedConf: '/etc/keepalived/keepalived.conf',
  frontRuntimeApiCert: '/etc/haproxy/runtime-api/server.pem',
  frontRuntimeApiClientCa: '/etc/haproxy/runtime-api/client-ca.pem',
  /** Ops host (cluster-mgr outside Kubernetes): the unit, its folder (config and the secrets `pulumi up` writes), the binary. */
  clusterMgrUnit: '/etc/systemd/system/cluster-mgr.service',
  clusterMgrDir: '/etc/cluster-mgr',
  clusterMgrConfig: '/etc/cluster-mgr/federation.yaml',
  clusterMgrBinary: '/usr/local/bin/cluster-mgr',
} as const;

/** Install phase of a host file: containerd mirror config, API-VIP static pods, edge keepalived, log-folder cleanup, front hosts, the ops host's cluster-mgr unit. */
export type HostStep = 'containerd' | 'api-vip' | 'edge-vip' | 'logs' | 'front' | 'ops';

export interface HostFileDestination {
  /** Absolute path on the host. */
  readonly dest: string;
  /** File mode, octal text (`0644`). */
  readonly mode: string;
  readonly step: HostStep;
  /** Service to restart once after any file of it changed (containerd reads its config only at start). */
  readonly restart?: HostService;
  /** The daemon's own config check, run on the new file before it replaces the old one (`CHECK_COMMANDS`). */
  readonly check?: 'haproxy' | 'keepalived' | 'cluster-mgr';
}

/** Services the host files configure. */
export type HostService = 'containerd' | 'haproxy' | 'keepalived' | 'cluster-mgr';

/** The config check of a daemon on one file (a temp file before it is renamed into place). */
export const CHECK_COMMANDS: Readonly<Record<NonNullable<HostFileDestination['check']>, (file: string) => string>> = {
  haproxy: (f) => `haproxy -c -f '${f}'`,
  keepalived: (f) => `keepalived -t -f '${f}'`,
  // the daemon's wrapper (flotilla install): it runs on this host, from the files next to it
  'cluster-mgr': (f) => `'${f}' --help >/dev/null`,
};

/**
 * The shell script that restarts a service after its files changed; host paths go through `at`
 * (`flotilla install --host-root` staging). With systemd: Debian's units (haproxy and keepalived
 * check their config first and reload). Without systemd (containers, the tests' netns hosts) haproxy
 * and keepalived run directly with a pid file under `at('/run')` (reload: `haproxy -sf`, keepalived
 * SIGHUP), containerd is left to its supervisor, and cluster-mgr is not started (see below).
 * cluster-mgr (ops host): its system user and group, `enable`, and a restart only once the files
 * `pulumi up` provides are there (api-token.env, kubeconfigs/*.yaml, the binary), else a note on stderr.
 */
export function restartScript(service: HostService, at: (path: string) => string = (p) => p): string {
  const q = (p: string) => `'${at(p)}'`;
  const systemd = (withSystemd: string, without: string) => `if [ -d /run/systemd/system ]; then ${withSystemd}; else ${without}; fi`;
  // Without systemd: $p = the running daemon's pid from its pid file (empty when not running).
  const direct = (pid: string, log: string) => `mkdir -p /run/haproxy "$(dirname ${pid})" "$(dirname ${log})"; p=$(cat ${pid} 2>/dev/null | head -n 1); if [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then p=; fi`;
  switch (service) {
    case 'containerd':
      return systemd('systemctl restart containerd', 'echo "containerd: no systemd on this host: restart containerd yourself to load its new config" >&2');
    case 'haproxy': {
      const cfg = q(HOST_PATHS.frontHaproxyCfg);
      const pid = q('/run/flotilla-haproxy.pid');
      const log = q('/var/log/flotilla-haproxy.log');
      return `haproxy -c -q -f ${cfg} && ${systemd('systemctl reload-or-restart haproxy', `${direct(pid, log)}; if [ -n "$p" ]; then haproxy -D -f ${cfg} -p ${pid} -sf "$p"; else haproxy -D -f ${cfg} -p ${pid}; fi </dev/null >>${log} 2>&1 || { tail -n 3 ${log} >&2; exit 1; }`)}`;
    }
    case 'keepalived': {
      const cfg = q(HOST_PATHS.frontKeepalivedConf);
      const pid = q('/run/flotilla-keepalived.pid');
      const log = q('/var/log/flotilla-keepalived.log');
      const run = `keepalived -f ${cfg} -p ${pid} -r ${q('/run/flotilla-keepalived-vrrp.pid')} -c ${q('/run/flotilla-keepalived-checkers.pid')}`;
      return `keepalived -t -f ${cfg} && ${systemd('systemctl reload-or-restart keepalived', `${direct(pid, log)}; if [ -n "$p" ]; then kill -HUP "$p"; else ${run} </dev/null >>${log} 2>&1 || { tail -n 3 ${log} >&2; exit 1; }; fi`)}`;
    }
    case 'cluster-mgr': {
      const dir = q(HOST_PATHS.clusterMgrDir);
      const ready = `[ -s ${q(`${HOST_PATHS.clusterMgrDir}/api-token.env`)} ] && ls ${dir}/kubeconfigs/*.yaml >/dev/null 2>&1 && [ -x ${q(HOST_PATHS.clusterMgrBinary)} ]`;
      return systemd(
        [
          'id -u cluster-mgr >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin cluster-mgr',
          `chgrp -R cluster-mgr ${dir} && chmod 0750 ${dir}`,
          'systemctl daemon-reload',
          'systemctl enable cluster-mgr.service >/dev/null 2>&1',
          `if ${ready}; then systemctl restart cluster-mgr.service; else echo "cluster-mgr.service enabled, not started: its secrets or binary are missing" >&2; fi`,
        ].join('; '),
        'echo "cluster-mgr: no systemd on this host: files written, the unit is not started" >&2',
      );
    }
  }
}

/** The command that restarts a service on a node after its config changed (real host paths). */
export const RESTART_COMMANDS: Readonly<Record<HostService, string>> = {
  containerd: restartScript('containerd'),
  haproxy: restartScript('haproxy'),
  keepalived: restartScript('keepalived'),
  'cluster-mgr': restartScript('cluster-mgr'),
};


const FIXED: Readonly<Record<string, HostFileDestination>> = {
  'keepalived.conf': { dest: HOST_PATHS.apiKeepalivedConf, mode: '0644', step: 'api-vip' },
  'check_apiserver.sh': { dest: HOST_PATHS.checkApiserver, mode: '0755', step: 'api-vip' },
  'haproxy.cfg': { dest: HOST_PATHS.apiHaproxyCfg, mode: '0644', step: 'api-vip' },
  'keepalived-edge.conf': { dest: HOST_PATHS.edgeKeepalivedConf, mode: '0644', step: 'edge-vip' },
  'containerd/config.toml': { dest: HOST_PATHS.containerdConfig, mode: '0644', step: 'containerd', restart: 'containerd' },
  'log-cleanup/flotilla-log-cleanup': { dest: HOST_PATHS.logCleanupScript, mode: '0755', step: 'logs' },
  'log-cleanup/flotilla-log-cleanup.cron': { dest: HOST_PATHS.logCleanupCron, mode: '0644', step: 'logs' },
  'front-haproxy.cfg': { dest: HOST_PATHS.frontHaproxyCfg, mode: '0644', step: 'front', restart: 'haproxy', check: 'haproxy' },
  'keepalived-front.conf': { dest: HOST_PATHS.frontKeepalivedConf, mode: '0644', step: 'front', restart: 'keepalived', check: 'keepalived' },
  'cluster-mgr.service': { dest: HOST_PATHS.clusterMgrUnit, mode: '0644', step: 'ops', restart: 'cluster-mgr' },
  'cluster-mgr/federation.yaml': { dest: HOST_PATHS.clusterMgrConfig, mode: '0644', step: 'ops', restart: 'cluster-mgr' },
};

/**
 * Destination of a rendered host file, by its path below `hosts/<node>/`:
 * `manifests/X.yaml` → `/etc/kubernetes/manifests/X.yaml` (0600, kubelet static pods),
 * `containerd/certs.d/<registry>/<file>` → `/etc/containerd/certs.d/<registry>/<file>` (hosts.toml, ca.crt),
 * `containerd/config.toml` and `containerd/conf.d/X.toml` → `/etc/containerd/` (containerd restarted
 * when they change; 0600: the drop-in carries registry credentials when the host layer writes it),
 * `keepalived.conf`, `check_apiserver.sh` (0755), `keepalived-edge.conf` → `/etc/keepalived/`,
 * `haproxy.cfg` → `/etc/haproxy/`, `log-cleanup/flotilla-log-cleanup` (0755) → `/usr/local/sbin/`,
 * `log-cleanup/flotilla-log-cleanup.cron` → `/etc/cron.d/flotilla-log-cleanup`; on front hosts `front-haproxy.cfg` →
 * `/etc/haproxy/haproxy.cfg` and `keepalived-front.conf` → `/etc/keepalived/keepalived.conf` (each checked by its daemon first);
 * on the ops host `cluster-mgr.service` → `/etc/systemd/system/` and `cluster-mgr/federation.yaml` → `/etc/cluster-mgr/`;
 * undefined for anything else (not a host file).
 */
export function hostFileDestination(rel: string): HostFileDestination | undefined {
  const fixed = FIXED[rel];
  if (fixed) return fixed;
  if (/^containerd\/certs\.d\/[^/]+\/[^/]+$/.test(rel)) return { dest: `/etc/${rel}`, mode: '0644', step: 'containerd' };
  if (/^containerd\/conf\.d\/[^/]+\.toml$/.test(rel)) return { dest: `${HOST_PATHS.containerdDropInDir}/${rel.slice('containerd/conf.d/'.length)}`, mode: '0600', step: 'containerd', restart: 'containerd' };
  if (/^manifests\/[^/]+\.ya?ml$/.test(rel)) return { dest: `${HOST_PATHS.staticPods}/${rel.slice('manifests/'.length)}`, mode: '0600', step: 'api-vip' };
  return undefined;
}
