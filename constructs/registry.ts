// Registry: the site registry — CNCF Distribution (`registry:2`) with a PVC, TLS from the site
// issuer, and one skopeo sync CronJob per mirror source. See docs/synth.md for why not Harbor.
import { Construct } from 'constructs';
import { apiObject, checkDnsName, checkLabel, checkQuantity, labels, podSecurity, PropError, resources, secureContainer } from './common';
import { INGRESS_GATEWAY_SELECTOR } from './edge-gateway';
import { Certificate } from './imports/cert-manager.io';

const NAME = 'Registry';
export const REGISTRY_IMAGE = 'docker.io/library/registry:2.8.3';
export const SKOPEO_IMAGE = 'quay.io/skopeo/stable:v1.17.0';

export interface RegistryMirror {
  /** Registry host this site syncs from. */
  readonly host: string;
  /** Repository patterns, e.g. `platform/*` (a trailing `*` matches by prefix). */
  readonly repositories: readonly string[];
}

export interface RegistryProps {
  /** The registry's host name (TLS certificate subject). */
  readonly host: string;
  /** ClusterIssuer that signs the registry's certificate. */
  readonly issuerName: string;
  /**
   * Storage for image layers.
   * @default - '100Gi'
   */
  readonly storage?: string;
  /**
   * StorageClass of the data volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClass?: string;
  /**
   * Registries to sync from, one CronJob each.
   * @default - none
   */
  readonly mirrors?: readonly RegistryMirror[];
  /**
   * Sync schedule (cron).
   * @default - '*\/15 * * * *'
   */
  readonly syncSchedule?: string;
  /**
   * Namespace.
   * @default - 'registry'
   */
  readonly namespace?: string;
  /**
   * Expose the registry through the Istio ingress gateway (TLS passthrough on 443 for `host`, so
   * the registry's own certificate reaches clients): the gateway's namespace.
   * @default - not exposed (in-cluster Service only)
   */
  readonly ingressNamespace?: string;
  /** @default - REGISTRY_IMAGE */
  readonly image?: string;
  /** @default - SKOPEO_IMAGE */
  readonly syncImage?: string;
}

/** Shell script a sync job runs: lists the source catalog, keeps matching repositories, skopeo-syncs each. */
export function syncScript(source: string, target: string, patterns: readonly string[]): string {
  const match = patterns.map((p) => (p.endsWith('*') ? `${p.slice(0, -1)}*` : p)).join('|');
  return [
    '#!/bin/sh',
    'set -eu',
    `SRC=${source}`,
    `DST=${target}`,
    'repos=$(curl -fsS "https://$SRC/v2/_catalog?n=100000" | tr -d "{}[] \\"" | sed "s/^repositories://" | tr "," "\\n")',
    'for repo in $repos; do',
    '  case "$repo" in',
    `    ${match}) skopeo sync --all --src docker --dest docker --dest-cert-dir /certs "$SRC/$repo" "$DST/$(dirname "$repo")" ;;`,
    '  esac',
    'done',
    '',
  ].join('\n');
}

export class Registry extends Construct {
  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    const ns = props.namespace ?? 'registry';
    const storage = props.storage ?? '100Gi';
    const schedule = props.syncSchedule ?? '*/15 * * * *';
    checkDnsName(NAME, 'host', props.host);
    checkLabel(NAME, 'issuerName', props.issuerName);
    checkLabel(NAME, 'namespace', ns);
    checkQuantity(NAME, 'storage', storage);
    if (schedule.trim().split(/\s+/).length !== 5) throw new PropError(NAME, 'syncSchedule', schedule, 'a 5-field cron expression');
    const mirrors = props.mirrors ?? [];
    for (const [i, m] of mirrors.entries()) {
      checkDnsName(NAME, `mirrors[${i}].host`, m.host);
      if (m.host === props.host) throw new PropError(NAME, `mirrors[${i}].host`, m.host, 'another registry than this one');
      if (m.repositories.length === 0) throw new PropError(NAME, `mirrors[${i}].repositories`, [], 'at least one repository pattern');
      for (const r of m.repositories) {
        if (!/^[a-z0-9]+([._/-][a-z0-9]+)*(\/\*)?$|^\*$/.test(r)) throw new PropError(NAME, `mirrors[${i}].repositories`, r, 'a repository path, optionally ending in "/*"');
      }
    }
    const lbl = labels('registry', 'site-registry');

    apiObject(this, 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    new Certificate(this, 'Certificate', {
      metadata: { name: 'registry-tls', namespace: ns },
      spec: {
        secretName: 'registry-tls',
        dnsNames: [props.host],
        duration: '2160h',
        renewBefore: '720h',
        issuerRef: { name: props.issuerName, kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    });
    apiObject(this, 'Data', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'registry-data', namespace: ns, labels: lbl },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage } },
        ...(props.storageClass ? { storageClassName: props.storageClass } : {}),
      },
    });
    apiObject(this, 'Resource', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'registry', namespace: ns, labels: lbl },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: lbl },
        template: {
          metadata: { labels: lbl },
          spec: {
            automountServiceAccountToken: false,
            securityContext: podSecurity(1000),
            containers: [
              secureContainer({
                name: 'registry',
                image: props.image ?? REGISTRY_IMAGE,
                ports: [{ name: 'https', containerPort: 5000 }],
                env: [
                  { name: 'REGISTRY_HTTP_ADDR', value: '0.0.0.0:5000' },
                  { name: 'REGISTRY_HTTP_TLS_CERTIFICATE', value: '/certs/tls.crt' },
                  { name: 'REGISTRY_HTTP_TLS_KEY', value: '/certs/tls.key' },
                  { name: 'REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY', value: '/var/lib/registry' },
                  { name: 'REGISTRY_STORAGE_DELETE_ENABLED', value: 'true' },
                ],
                readinessProbe: { httpGet: { path: '/v2/', port: 5000, scheme: 'HTTPS' }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: '/v2/', port: 5000, scheme: 'HTTPS' }, periodSeconds: 20 },
                resources: resources('100m', '256Mi', '1', '512Mi'),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/registry' },
                  { name: 'certs', mountPath: '/certs', readOnly: true },
                ],
              }),
            ],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: 'registry-data' } },
              { name: 'certs', secret: { secretName: 'registry-tls' } },
            ],
          },
        },
      },
    });
    apiObject(this, 'Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'registry', namespace: ns, labels: lbl },
      spec: { selector: lbl, ports: [{ name: 'https', port: 443, targetPort: 5000 }] },
    });

    if (props.ingressNamespace !== undefined) {
      checkLabel(NAME, 'ingressNamespace', props.ingressNamespace);
      apiObject(this, 'Gateway', {
        apiVersion: 'networking.istio.io/v1',
        kind: 'Gateway',
        metadata: { name: 'registry', namespace: props.ingressNamespace },
        spec: {
          selector: { ...INGRESS_GATEWAY_SELECTOR },
          servers: [{ port: { number: 443, name: 'tls-registry', protocol: 'TLS' }, hosts: [props.host], tls: { mode: 'PASSTHROUGH' } }],
        },
      });
      apiObject(this, 'Route', {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'registry', namespace: props.ingressNamespace },
        spec: {
          hosts: [props.host],
          gateways: ['registry'],
          tls: [{ match: [{ port: 443, sniHosts: [props.host] }], route: [{ destination: { host: `registry.${ns}.svc.cluster.local`, port: { number: 443 } } }] }],
        },
      });
    }

    for (const m of mirrors) {
      const name = `registry-sync-${m.host.replaceAll('.', '-')}`.slice(0, 52).replace(/-+$/, '');
      checkLabel(NAME, `mirrors[${m.host}] (job name)`, name);
      apiObject(this, `Sync-${m.host}`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: ns, labels: lbl },
        data: { 'sync.sh': syncScript(m.host, props.host, m.repositories) },
      });
      apiObject(this, `SyncJob-${m.host}`, {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name, namespace: ns, labels: lbl },
        spec: {
          schedule,
          concurrencyPolicy: 'Forbid',
          successfulJobsHistoryLimit: 1,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            spec: {
              backoffLimit: 2,
              activeDeadlineSeconds: 3600,
              template: {
                spec: {
                  restartPolicy: 'Never',
                  automountServiceAccountToken: false,
                  securityContext: podSecurity(1000),
                  containers: [
                    secureContainer({
                      name: 'sync',
                      image: props.syncImage ?? SKOPEO_IMAGE,
                      command: ['/bin/sh', '/sync/sync.sh'],
                      env: [{ name: 'HOME', value: '/tmp' }],
                      resources: resources('100m', '128Mi', '1', '512Mi'),
                      volumeMounts: [
                        { name: 'sync', mountPath: '/sync', readOnly: true },
                        { name: 'certs', mountPath: '/certs', readOnly: true },
                        { name: 'tmp', mountPath: '/tmp' },
                        { name: 'vartmp', mountPath: '/var/tmp' },
                      ],
                    }),
                  ],
                  volumes: [
                    { name: 'sync', configMap: { name } },
                    { name: 'certs', secret: { secretName: 'registry-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                    { name: 'tmp', emptyDir: {} },
                    { name: 'vartmp', emptyDir: {} },
                  ],
                },
              },
            },
          },
        },
      });
    }
  }
}
