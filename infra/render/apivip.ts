// The kube-apiserver VIP on masters, kubeadm HA style ("ha-considerations": keepalived and HAProxy
// as static pods): clients reach VIP:8443 → HAProxy on the VIP holder → every master's apiserver
// on 6443. Files per master: keepalived.conf, check_apiserver.sh, haproxy.cfg and the two static
// pods for /etc/kubernetes/manifests/.
import { stringify } from 'yaml';
import { HOST_PATHS } from '../lib/host-files';
import type { Cluster, SiteNode } from '../site/index';
import { resolved, type SiteSource } from '../site/resolve';
import { addressOf, blocks, header } from './common';
import { DEFAULT_CHECK_APISERVER_PATH, keepalivedArgs } from './keepalived';

export interface ApiVipOptions {
  /** Port HAProxy listens on for the VIP (the kubeadm `controlPlaneEndpoint` port). @default 8443 */
  readonly frontendPort?: number;
  /** kube-apiserver port on every master. @default 6443 */
  readonly apiserverPort?: number;
  /** @default - the project's keepalived image (Debian keepalived 2.2 + curl + iproute2), as the EdgeGateway uses */
  readonly keepalivedImage?: string;
  /** @default 'docker.io/library/haproxy:2.8.5-alpine' */
  readonly haproxyImage?: string;
  /** @default '/etc/keepalived/check_apiserver.sh' */
  readonly checkScriptPath?: string;
  /** Host path of keepalived.conf. @default '/etc/keepalived/keepalived.conf' */
  readonly keepalivedConfPath?: string;
  /** Host path of haproxy.cfg. @default '/etc/haproxy/haproxy.cfg' */
  readonly haproxyCfgPath?: string;
  /** Folder for the API-VIP keepalived's pid files (a hostPath, apart from other keepalived processes). @default '/run/keepalived-apiserver' */
  readonly pidDir?: string;
}

export const API_VIP_IMAGES = {
  /** Same image as the EdgeGateway DaemonSet (constructs/images/keepalived): the keepalived the tests run, with curl and ip for check_apiserver.sh. */
  keepalived: 'ghcr.io/flotilla-dev/keepalived:2.2.7-1',
  haproxy: 'docker.io/library/haproxy:2.8.5-alpine',
} as const;

const RESOLVED = Symbol('resolved ApiVipOptions');

/** ApiVipOptions with every default applied (see resolveApiVipOptions). */
export interface ResolvedApiVipOptions {
  readonly [RESOLVED]: true;
  frontendPort: number;
  apiserverPort: number;
  keepalivedImage: string;
  haproxyImage: string;
  checkScriptPath: string;
  keepalivedConfPath: string;
  haproxyCfgPath: string;
  pidDir: string;
}

/**
 * Applies the defaults and checks the ports. Resolve once per synthesis (renderHostFiles does) and
 * pass the result on: options that are already resolved come back as they are (extra fields of
 * the caller's, e.g. ApiKeepalivedOptions, are kept).
 */
export function resolveApiVipOptions<T extends ApiVipOptions>(opts: T | (T & ResolvedApiVipOptions) = {} as T): T & ResolvedApiVipOptions {
  if ((opts as Partial<ResolvedApiVipOptions>)[RESOLVED]) return opts as T & ResolvedApiVipOptions;
  const r: T & ResolvedApiVipOptions = {
    ...opts,
    [RESOLVED]: true,
    frontendPort: opts.frontendPort ?? 8443,
    apiserverPort: opts.apiserverPort ?? 6443,
    keepalivedImage: opts.keepalivedImage ?? API_VIP_IMAGES.keepalived,
    haproxyImage: opts.haproxyImage ?? API_VIP_IMAGES.haproxy,
    checkScriptPath: opts.checkScriptPath ?? DEFAULT_CHECK_APISERVER_PATH,
    keepalivedConfPath: opts.keepalivedConfPath ?? HOST_PATHS.apiKeepalivedConf,
    haproxyCfgPath: opts.haproxyCfgPath ?? HOST_PATHS.apiHaproxyCfg,
    pidDir: opts.pidDir ?? '/run/keepalived-apiserver',
  };
  if (r.frontendPort === r.apiserverPort) {
    throw new Error(
      `apiVIP frontendPort ${r.frontendPort} equals apiserverPort: HAProxy runs on the masters next to the apiserver, so pick another port (default 8443)`,
    );
  }
  return r;
}

/** keepalived's track script on a master: healthy while the apiserver answers through HAProxy. */
export function renderCheckApiserver(site: SiteSource, cluster: Cluster, node: SiteNode, opts: ApiVipOptions = {}): string {
  const o = resolveApiVipOptions(opts);
  const vip = addressOf(cluster.apiVIP.address);
  return [
    '#!/bin/sh',
    header([
      `keepalived track script on master ${node.name} (cluster ${cluster.name}, site ${resolved(site).name}):`,
      `healthy while https://localhost:${o.frontendPort}/healthz answers 2xx through HAProxy (and through the VIP`,
      'when this node holds it). Install root-owned, mode 0755 (keepalived enable_script_security).',
    ]).trimEnd(),
    'errorExit() {',
    '  echo "*** $*" 1>&2',
    '  exit 1',
    '}',
    'if command -v curl >/dev/null 2>&1; then',
    '  get() { curl -sfk --max-time 2 -o /dev/null "$1"; }',
    'else',
    '  get() { wget -q -T 2 --no-check-certificate -O /dev/null "$1"; }',
    'fi',
    `get https://localhost:${o.frontendPort}/healthz || errorExit "Error GET https://localhost:${o.frontendPort}/healthz"`,
    `if ip -4 addr show | grep -q " ${vip}/"; then`,
    `  get https://${vip}:${o.frontendPort}/healthz || errorExit "Error GET https://${vip}:${o.frontendPort}/healthz"`,
    'fi',
    '',
  ].join('\n');
}

/** haproxy.cfg on a master: VIP:frontendPort → every master's apiserver, checked on /healthz. */
export function renderApiHaproxy(site: SiteSource, cluster: Cluster, node: SiteNode, opts: ApiVipOptions = {}): string {
  const o = resolveApiVipOptions(opts);
  const masters = resolved(site).cluster(cluster.name).apiVip.holders;
  return blocks([
    header([
      `HAProxy for the kube-apiserver VIP ${cluster.apiVIP.address} of cluster ${cluster.name} (site ${resolved(site).name})`,
      `on master ${node.name}: *:${o.frontendPort} → every master's apiserver on ${o.apiserverPort}.`,
    ]),
    ['global', '  log stdout format raw local0', '  maxconn 4000'].join('\n'),
    [
      'defaults',
      '  mode tcp',
      '  log global',
      '  option tcplog',
      '  option dontlognull',
      '  option redispatch 1',
      '  retries 3',
      '  timeout connect 5s',
      '  # long-lived watches: idle connections stay open',
      '  timeout client 1h',
      '  timeout server 1h',
      '  timeout check 5s',
    ].join('\n'),
    ['frontend apiserver', `  bind *:${o.frontendPort}`, '  mode tcp', '  default_backend apiserverbackend'].join('\n'),
    [
      'backend apiserverbackend',
      '  mode tcp',
      '  balance roundrobin',
      '  option httpchk',
      '  http-check connect ssl',
      '  http-check send meth GET uri /healthz',
      '  http-check expect status 200',
      '  default-server inter 1s fall 2 rise 2',
      ...masters.map((m) => `  server ${m.name} ${m.address}:${o.apiserverPort} check verify none`),
    ].join('\n'),
  ]);
}

type Obj = Record<string, unknown>;

/** A host-network static pod in kube-system with one container named as the pod. */
function controlPlanePod(name: string, container: Obj, volumes: readonly Obj[]): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'kube-system', labels: { component: name, tier: 'control-plane', 'app.kubernetes.io/managed-by': 'flotilla' } },
    spec: { hostNetwork: true, priorityClassName: 'system-node-critical', containers: [{ name, ...container }], volumes: [...volumes] },
  };
}

function staticPod(comment: readonly string[], pod: Obj): string {
  return header(comment) + stringify(pod, { lineWidth: 0, sortMapEntries: false });
}

/** keepalived static pod (core/v1 Pod) for /etc/kubernetes/manifests/keepalived.yaml. */
export function apiKeepalivedPod(cluster: Cluster, opts: ApiVipOptions = {}): Obj {
  const o = resolveApiVipOptions(opts);
  return controlPlanePod('keepalived', {
          image: o.keepalivedImage,
          command: ['keepalived'],
          args: keepalivedArgs({
            configFile: '/etc/keepalived/keepalived.conf',
            pidFile: `${o.pidDir}/keepalived.pid`,
            vrrpPidFile: `${o.pidDir}/vrrp.pid`,
          }),
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
          securityContext: {
            // VRRP needs raw sockets and address management; nothing else.
            capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_BROADCAST', 'NET_RAW'] },
          },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/keepalived/keepalived.conf', readOnly: true },
            { name: 'check', mountPath: o.checkScriptPath, readOnly: true },
            { name: 'run', mountPath: o.pidDir },
          ],
  }, [
    { name: 'config', hostPath: { path: o.keepalivedConfPath, type: 'File' } },
    { name: 'check', hostPath: { path: o.checkScriptPath, type: 'File' } },
    { name: 'run', hostPath: { path: o.pidDir, type: 'DirectoryOrCreate' } },
  ]);
}

/** HAProxy static pod (core/v1 Pod) for /etc/kubernetes/manifests/haproxy.yaml. */
export function apiHaproxyPod(cluster: Cluster, opts: ApiVipOptions = {}): Obj {
  const o = resolveApiVipOptions(opts);
  return controlPlanePod('haproxy', {
          image: o.haproxyImage,
          args: ['-W', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
          command: ['haproxy'],
          livenessProbe: {
            failureThreshold: 8,
            httpGet: { host: 'localhost', path: '/healthz', port: o.frontendPort, scheme: 'HTTPS' },
          },
          resources: { requests: { cpu: '25m', memory: '32Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [{ name: 'haproxyconf', mountPath: '/usr/local/etc/haproxy/haproxy.cfg', readOnly: true }],
  }, [{ name: 'haproxyconf', hostPath: { path: o.haproxyCfgPath, type: 'File' } }]);
}

export function renderApiKeepalivedPod(site: SiteSource, cluster: Cluster, node: SiteNode, opts: ApiVipOptions = {}): string {
  return staticPod(
    [`keepalived static pod for the kube-apiserver VIP of cluster ${cluster.name} on ${node.name} (site ${resolved(site).name}).`],
    apiKeepalivedPod(cluster, opts),
  );
}

export function renderApiHaproxyPod(site: SiteSource, cluster: Cluster, node: SiteNode, opts: ApiVipOptions = {}): string {
  return staticPod(
    [`HAProxy static pod for the kube-apiserver VIP of cluster ${cluster.name} on ${node.name} (site ${resolved(site).name}).`],
    apiHaproxyPod(cluster, opts),
  );
}
