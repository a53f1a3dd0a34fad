// Where each synthesized host file goes on its node: the one table the renderers (default
// hostPath), the Pulumi host layer and `flotilla install` all read.

/** Install phase of a host file: containerd mirror config, API-VIP static pods, edge keepalived, log-folder cleanup. */
export type HostStep = 'containerd' | 'api-vip' | 'edge-vip' | 'logs';

export interface HostFileDestination {
  /** Absolute path on the host. */
  readonly dest: string;
  /** File mode, octal text (`0644`). */
  readonly mode: string;
  readonly step: HostStep;
  /** Service to restart once after any file of it changed (containerd reads its config only at start). */
  readonly restart?: 'containerd';
}

/** The command that restarts a service on a node after its config changed. */
export const RESTART_COMMANDS: Readonly<Record<NonNullable<HostFileDestination['restart']>, string>> = {
  containerd: 'systemctl restart containerd',
};

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
} as const;

const FIXED: Readonly<Record<string, HostFileDestination>> = {
  'keepalived.conf': { dest: HOST_PATHS.apiKeepalivedConf, mode: '0644', step: 'api-vip' },
  'check_apiserver.sh': { dest: HOST_PATHS.checkApiserver, mode: '0755', step: 'api-vip' },
  'haproxy.cfg': { dest: HOST_PATHS.apiHaproxyCfg, mode: '0644', step: 'api-vip' },
  'keepalived-edge.conf': { dest: HOST_PATHS.edgeKeepalivedConf, mode: '0644', step: 'edge-vip' },
  'containerd/config.toml': { dest: HOST_PATHS.containerdConfig, mode: '0644', step: 'containerd', restart: 'containerd' },
  'log-cleanup/flotilla-log-cleanup': { dest: HOST_PATHS.logCleanupScript, mode: '0755', step: 'logs' },
  'log-cleanup/flotilla-log-cleanup.cron': { dest: HOST_PATHS.logCleanupCron, mode: '0644', step: 'logs' },
};

/**
 * Destination of a rendered host file, by its path below `hosts/<node>/`:
 * `manifests/X.yaml` → `/etc/kubernetes/manifests/X.yaml` (0600, kubelet static pods),
 * `containerd/certs.d/<registry>/<file>` → `/etc/containerd/certs.d/<registry>/<file>` (hosts.toml, ca.crt),
 * `containerd/config.toml` and `containerd/conf.d/X.toml` → `/etc/containerd/` (containerd restarted
 * when they change; 0600: the drop-in carries registry credentials when the host layer writes it),
 * `keepalived.conf`, `check_apiserver.sh` (0755), `keepalived-edge.conf` → `/etc/keepalived/`,
 * `haproxy.cfg` → `/etc/haproxy/`, `log-cleanup/flotilla-log-cleanup` (0755) → `/usr/local/sbin/`,
 * `log-cleanup/flotilla-log-cleanup.cron` → `/etc/cron.d/flotilla-log-cleanup`; undefined for anything else (not a host file).
 */
export function hostFileDestination(rel: string): HostFileDestination | undefined {
  const fixed = FIXED[rel];
  if (fixed) return fixed;
  if (/^containerd\/certs\.d\/[^/]+\/[^/]+$/.test(rel)) return { dest: `/etc/${rel}`, mode: '0644', step: 'containerd' };
  if (/^containerd\/conf\.d\/[^/]+\.toml$/.test(rel)) return { dest: `${HOST_PATHS.containerdDropInDir}/${rel.slice('containerd/conf.d/'.length)}`, mode: '0600', step: 'containerd', restart: 'containerd' };
  if (/^manifests\/[^/]+\.ya?ml$/.test(rel)) return { dest: `${HOST_PATHS.staticPods}/${rel.slice('manifests/'.length)}`, mode: '0600', step: 'api-vip' };
  return undefined;
}
