// cluster-mgr outside Kubernetes: a systemd unit for the site's ops host (inventory
// spec.federation.opsHost) running the same daemon with the same Federation config as the
// Deployment. Outside a pod `leaderElection.inCluster` falls back to the host member's kubeconfig,
// so the two can even share the Lease. Secrets (member kubeconfigs, the API token) are not in the
// synthesized output: the host layer writes them (0640 root:cluster-mgr) from Pulumi secrets.
import { GENERATED } from './common';
import type { RenderedFile } from './index';

export const CLUSTER_MGR_HOST_DIR = '/etc/cluster-mgr';
/** Where the unit expects the daemon (installed by the operator: docs/cluster-mgr.md, "Ops host"). */
export const CLUSTER_MGR_HOST_EXEC = '/usr/local/bin/cluster-mgr';

export interface ClusterMgrUnitOptions {
  /** The Federation document (YAML), exactly as the Deployment's ConfigMap holds it. */
  readonly config: string;
  /** The daemon: argv[0..] before `run`. @default - [CLUSTER_MGR_HOST_EXEC] */
  readonly exec?: readonly string[];
  /** @default - '0.0.0.0:9464' (the token is required on a non-loopback address) */
  readonly listen?: string;
}

/** `cluster-mgr.service`: non-root, sandboxed, SIGTERM to drain (the daemon releases the Lease), restarted on failure. */
export function renderClusterMgrUnit(o: Pick<ClusterMgrUnitOptions, 'exec' | 'listen'> = {}): string {
  const exec = [...(o.exec ?? [CLUSTER_MGR_HOST_EXEC]), 'run', '--config', `${CLUSTER_MGR_HOST_DIR}/federation.yaml`, '--listen', o.listen ?? '0.0.0.0:9464'];
  return `# ${GENERATED}
[Unit]
Description=Flotilla cluster-mgr (federation daemon)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=cluster-mgr
Group=cluster-mgr
# CLUSTER_MGR_TOKEN=… (the generated API token, written by the host layer)
EnvironmentFile=${CLUSTER_MGR_HOST_DIR}/api-token.env
ExecStart=${exec.join(' ')}
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=
ReadOnlyPaths=${CLUSTER_MGR_HOST_DIR}

[Install]
WantedBy=multi-user.target
`;
}

/** The ops host's files: the unit and the Federation config (same bytes as the ConfigMap). */
export function renderClusterMgrHostFiles(host: string, o: ClusterMgrUnitOptions): RenderedFile[] {
  return [
    { path: `hosts/${host}/cluster-mgr.service`, content: renderClusterMgrUnit(o), hostPath: '/etc/systemd/system/cluster-mgr.service', mode: 0o644 },
    { path: `hosts/${host}/cluster-mgr/federation.yaml`, content: o.config, hostPath: `${CLUSTER_MGR_HOST_DIR}/federation.yaml`, mode: 0o644 },
  ];
}
