// Registry: the site registry — CNCF Distribution (`registry:2`) with a PVC, TLS from the site
// issuer, and one skopeo sync CronJob per mirror source. See docs/synth.md for why not Harbor.
import { ApiObject, Cron, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { apiObject, checkDnsName, checkLabel, checkLabels, checkQuantity, containerResources, dropAddressLabel, hardenPod, labels, podLabels, podSecurity, PropError, scriptPod, secureContainer, selectByLabels } from './common';
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
  /**
   * PEM CA certificate of that registry (the peer site's CA): the sync job trusts it for `host`.
   * @default - the sync image's system trust store
   */
  readonly caCert?: string;
}

/** Secrets the registry reads (filled by the Pulumi program from `flotilla:registryPassword`). */
export const REGISTRY_SECRETS = {
  /** Key `htpasswd`: bcrypt htpasswd lines (the registry's users). */
  htpasswd: 'registry-htpasswd',
  /** `kubernetes.io/dockerconfigjson` for the site registry: the sync jobs push with it. */
  credentials: 'registry-credentials',
} as const;

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

/** Where the sync job finds its files. */
export const SYNC_PATHS = {
  /** The site registry's CA (`ca.crt` of its TLS Secret): the push side. */
  destCerts: '/certs',
  /** The peer registry's CA (`ca.crt` from the mirror's `caCert`): the pull side. */
  srcCerts: '/peer-certs',
  /** docker config with the site registry's credentials (the push side). */
  destAuth: '/auth/.dockerconfigjson',
  /** Optional docker config with the peer registry's credentials (Secret `<job>-source`). */
  srcAuth: '/source-auth/.dockerconfigjson',
} as const;

/**
 * Shell script a sync job runs: lists the source catalog, keeps matching repositories, skopeo-syncs
 * each. The source is verified against the peer CA when `peerCa` (else the system trust store), the
 * target against the site CA; credentials come from the docker configs in SYNC_PATHS.
 */
export function syncScript(source: string, target: string, patterns: readonly string[], opts: { readonly peerCa?: boolean } = {}): string {
  const match = patterns.map((p) => (p.endsWith('*') ? `${p.slice(0, -1)}*` : p)).join('|');
  const p = SYNC_PATHS;
  return [
    '#!/bin/sh',
    'set -eu',
    `SRC=${source}`,
    `DST=${target}`,
    'src_tls=""; curl_tls=""',
    ...(opts.peerCa ? [`src_tls="--src-cert-dir ${p.srcCerts}"; curl_tls="--cacert ${p.srcCerts}/ca.crt"`] : []),
    'src_auth=""; curl_auth=""',
    `if [ -s ${p.srcAuth} ]; then`,
    `  src_auth="--src-authfile ${p.srcAuth}"`,
    `  basic=$(sed -n 's/.*"auth" *: *"\\([^"]*\\)".*/\\1/p' ${p.srcAuth} | head -n 1)`,
    '  curl_auth="Authorization: Basic $basic"',
    'fi',
    'repos=$(curl -fsS $curl_tls ${curl_auth:+-H "$curl_auth"} "https://$SRC/v2/_catalog?n=100000" | tr -d "{}[] \\"" | sed "s/^repositories://" | tr "," "\\n")',
    'for repo in $repos; do',
    '  case "$repo" in',
    `    ${match}) skopeo sync --all --src docker --dest docker $src_tls $src_auth --dest-cert-dir ${p.destCerts} --dest-authfile ${p.destAuth} "$SRC/$repo" "$DST/$(dirname "$repo")" ;;`,
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
    checkLabels(NAME, { issuerName: props.issuerName, namespace: ns });
    checkQuantity(NAME, 'storage', storage);
    if (schedule.trim().split(/\s+/).length !== 5) throw new PropError(NAME, 'syncSchedule', schedule, 'a 5-field cron expression');
    const mirrors = props.mirrors ?? [];
    for (const [i, m] of mirrors.entries()) {
      checkDnsName(NAME, `mirrors[${i}].host`, m.host);
      if (m.host === props.host) throw new PropError(NAME, `mirrors[${i}].host`, m.host, 'another registry than this one');
      if (m.repositories.length === 0) throw new PropError(NAME, `mirrors[${i}].repositories`, [], 'at least one repository pattern');
      if (m.caCert !== undefined && !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(m.caCert)) {
        throw new PropError(NAME, `mirrors[${i}].caCert`, `${m.caCert.slice(0, 20)}…`, 'a PEM CA certificate');
      }
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
    const tls = kplus.Secret.fromSecretName(this, 'TlsSecret', 'registry-tls');
    // htpasswd auth (CNCF Distribution accepts bcrypt only). The Secret's value is never synthesized:
    // the Pulumi program fills it from flotilla:registryPassword (infra/pulumi/plan.ts).
    const htpasswd = new kplus.Secret(this, 'Htpasswd', {
      metadata: { name: REGISTRY_SECRETS.htpasswd, namespace: ns, labels: lbl, annotations: { 'flotilla.dev/filled-by': 'pulumi up (flotilla:registryPassword)' } },
      type: 'Opaque',
      stringData: { htpasswd: '' },
    });
    const deployment = new kplus.Deployment(this, 'Resource', {
      metadata: { name: 'registry', namespace: ns, labels: lbl },
      ...podLabels(lbl),
      replicas: 1,
      strategy: kplus.DeploymentStrategy.recreate(),
      automountServiceAccountToken: false,
      securityContext: podSecurity(1000),
      containers: [
        secureContainer({
          name: 'registry',
          image: props.image ?? REGISTRY_IMAGE,
          ports: [{ name: 'https', number: 5000 }],
          envVariables: {
            REGISTRY_HTTP_ADDR: kplus.EnvValue.fromValue('0.0.0.0:5000'),
            REGISTRY_HTTP_TLS_CERTIFICATE: kplus.EnvValue.fromValue('/certs/tls.crt'),
            REGISTRY_HTTP_TLS_KEY: kplus.EnvValue.fromValue('/certs/tls.key'),
            REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: kplus.EnvValue.fromValue('/var/lib/registry'),
            REGISTRY_STORAGE_DELETE_ENABLED: kplus.EnvValue.fromValue('true'),
            REGISTRY_AUTH: kplus.EnvValue.fromValue('htpasswd'),
            REGISTRY_AUTH_HTPASSWD_REALM: kplus.EnvValue.fromValue(props.host),
            REGISTRY_AUTH_HTPASSWD_PATH: kplus.EnvValue.fromValue('/auth/htpasswd'),
          },
          // TCP, not GET /v2/: with auth on, /v2/ answers 401 to the kubelet's probe.
          readiness: kplus.Probe.fromTcpSocket({ port: 5000, periodSeconds: Duration.seconds(5) }),
          liveness: kplus.Probe.fromTcpSocket({ port: 5000, periodSeconds: Duration.seconds(20) }),
          resources: containerResources('100m', '256Mi', '1', '512Mi'),
          volumeMounts: [
            {
              path: '/var/lib/registry',
              volume: kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', kplus.PersistentVolumeClaim.fromClaimName(this, 'DataClaim', 'registry-data'), { name: 'data' }),
            },
            { path: '/certs', readOnly: true, volume: kplus.Volume.fromSecret(this, 'CertsVolume', tls, { name: 'certs' }) },
            { path: '/auth', readOnly: true, volume: kplus.Volume.fromSecret(this, 'AuthVolume', htpasswd, { name: 'auth' }) },
          ],
        }),
      ],
    });
    selectByLabels(deployment, lbl);
    hardenPod(deployment);
    const service = new kplus.Service(this, 'Service', {
      metadata: { name: 'registry', namespace: ns, labels: lbl },
      ports: [{ name: 'https', port: 443, targetPort: 5000 }],
    });
    // Our labels, not `selector: deployment` (that would select plus's address label, which selectByLabels drops).
    for (const [k, v] of Object.entries(lbl)) service.selectLabel(k, v);

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

    const credentials = kplus.Secret.fromSecretName(this, 'Credentials', REGISTRY_SECRETS.credentials);
    for (const m of mirrors) {
      const name = `registry-sync-${m.host.replaceAll('.', '-')}`.slice(0, 52).replace(/-+$/, '');
      checkLabel(NAME, `mirrors[${m.host}] (job name)`, name);
      const peerCa = m.caCert !== undefined;
      const script = new kplus.ConfigMap(this, `Sync-${m.host}`, {
        metadata: { name, namespace: ns, labels: lbl },
        data: { 'sync.sh': syncScript(m.host, props.host, m.repositories, { peerCa }), ...(peerCa ? { 'ca.crt': `${m.caCert!.trim()}\n` } : {}) },
      });
      const sourceAuth = kplus.Secret.fromSecretName(this, `SyncSourceAuth-${m.host}`, `${name}-source`);
      const [minute, hour, day, month, weekDay] = schedule.trim().split(/\s+/);
      const job = new kplus.CronJob(this, `SyncJob-${m.host}`, {
        metadata: { name, namespace: ns, labels: lbl },
        schedule: Cron.schedule({ minute, hour, day, month, weekDay }),
        concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
        successfulJobsRetained: 1,
        failedJobsRetained: 3,
        backoffLimit: 2,
        activeDeadline: Duration.seconds(3600),
        restartPolicy: kplus.RestartPolicy.NEVER,
        ...scriptPod(1000, '/sync/sync.sh', {
          name: 'sync',
          image: props.syncImage ?? SKOPEO_IMAGE,
          envVariables: { HOME: kplus.EnvValue.fromValue('/tmp') },
          resources: containerResources('100m', '128Mi', '1', '512Mi'),
          volumeMounts: [
            { path: '/sync', readOnly: true, volume: kplus.Volume.fromConfigMap(this, `SyncScript-${m.host}`, script, { name: 'sync' }) },
            {
              path: SYNC_PATHS.destCerts,
              readOnly: true,
              volume: kplus.Volume.fromSecret(this, `SyncCerts-${m.host}`, tls, { name: 'certs', items: { 'ca.crt': { path: 'ca.crt' } } }),
            },
            ...(peerCa
              ? [{ path: SYNC_PATHS.srcCerts, readOnly: true, volume: kplus.Volume.fromConfigMap(this, `SyncPeerCa-${m.host}`, script, { name: 'peer-ca', items: { 'ca.crt': { path: 'ca.crt' } } }) }]
              : []),
            { path: '/auth', readOnly: true, volume: kplus.Volume.fromSecret(this, `SyncAuth-${m.host}`, credentials, { name: 'auth', items: { '.dockerconfigjson': { path: '.dockerconfigjson' } } }) },
            // The peer's credentials, when it asks for any: create Secret `<job>-source` (type
            // kubernetes.io/dockerconfigjson) in the registry namespace; absent = anonymous pulls.
            { path: '/source-auth', readOnly: true, volume: kplus.Volume.fromSecret(this, `SyncSourceAuthVolume-${m.host}`, sourceAuth, { name: 'source-auth', optional: true }) },
            { path: '/tmp', volume: kplus.Volume.fromEmptyDir(this, `SyncTmp-${m.host}`, 'tmp') },
            { path: '/var/tmp', volume: kplus.Volume.fromEmptyDir(this, `SyncVarTmp-${m.host}`, 'vartmp') },
          ],
        }),
      });
      dropAddressLabel(job, false);
      hardenPod(job);
      // plus always sets startingDeadlineSeconds (default 10 s): a run the controller cannot start
      // within 10 s of its slot would be skipped. We keep Kubernetes' default (no deadline).
      ApiObject.of(job).addJsonPatch(JsonPatch.remove('/spec/startingDeadlineSeconds'));
    }
  }
}
