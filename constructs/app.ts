// App workloads: `mountPodLogs` (the per-pod log folder the file-log collector reads, for any
// cdk8s-plus workload) and `SiteApp` (a plain app of the site inventory: stable Deployment and
// Service, optionally a canary Deployment with DestinationRule subsets and a weighted
// VirtualService, consistent-hash load balancing and Envoy's local rate limit). The object shapes
// come from infra/lib (canary.ts, pod-logs.ts), which cluster-mgr shares for FederatedApps; here
// they are typed against the generated Istio bindings.
import { Construct } from 'constructs';
import * as kplus from 'cdk8s-plus-27';
import { canaryDeployment, DEFAULT_STABLE_VERSION, destinationRule, localRateLimitFilter, versionedStable, virtualService, type ConsistentHash, type DeploymentLike } from '../infra/lib/canary';
import { deploymentWithPodLogs, POD_LOGS_ENV, POD_LOGS_HOST_PATH, POD_LOGS_MOUNT_PATH, POD_LOGS_VOLUME, podLogsMount, type PodLogsOptions } from '../infra/lib/pod-logs';
import { apiObject, checkDnsName, checkLabel, checkPositiveInt, PropError, resources } from './common';
import { DestinationRule, EnvoyFilter, EnvoyFilterSpecConfigPatchesApplyTo, EnvoyFilterSpecConfigPatchesMatchContext, EnvoyFilterSpecConfigPatchesPatchOperation, VirtualService } from './imports/networking.istio.io';

/**
 * Mounts the pod's own log folder `<hostPath>/<namespace>_<pod>` at `mountPath` in every container
 * of `workload` (hostPath volume, `subPathExpr` over the downward-API POD_NAMESPACE/POD_NAME env).
 * Files the app writes there as `*.log` are collected by the Logging construct's Filebeat.
 */
export function mountPodLogs(workload: kplus.Workload, opts: PodLogsOptions = {}): void {
  const volume = kplus.Volume.fromHostPath(workload, 'PodLogs', POD_LOGS_VOLUME, { path: opts.hostPath ?? POD_LOGS_HOST_PATH, type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE });
  const mount = podLogsMount(opts.mountPath);
  for (const c of workload.containers) {
    for (const e of POD_LOGS_ENV) c.env.addVariable(e.name, kplus.EnvValue.fromFieldRef(e.valueFrom.fieldRef.fieldPath as kplus.EnvFieldPaths));
    c.mount(mount.mountPath, volume, { subPathExpr: mount.subPathExpr });
  }
}

export interface SiteAppCanaryProps {
  /** `version` label of the canary pods (the `canary` subset). */
  readonly version: string;
  readonly image: string;
  /** @default - 1 */
  readonly replicas?: number;
  /** Canary share of traffic, 0–100. @default - 0 */
  readonly weight?: number;
}

export interface SiteAppProps {
  readonly name: string;
  /** @default - 'default' */
  readonly namespace?: string;
  readonly image: string;
  /** HTTP port of the container and the Service. */
  readonly port: number;
  /** @default - 2 */
  readonly replicas?: number;
  /** External host through `gateway` (e.g. `shop.bj1.example.com`). @default - in-mesh only */
  readonly host?: string;
  /** The site Gateway, `<namespace>/<name>`. @default - 'istio-ingress/site-gateway' */
  readonly gateway?: string;
  /** A canary version next to the stable one. @default - no canary (and no routing objects unless other traffic options are set) */
  readonly canary?: SiteAppCanaryProps;
  /** Sticky sessions. @default - the mesh default load balancer */
  readonly consistentHash?: ConsistentHash;
  /** Envoy local rate limit, per pod. @default - none */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst?: number };
  /** Mount the per-pod log folder (`fileLogsHostPath/<namespace>_<pod>`) at /var/log/app. @default - false */
  readonly fileLogs?: boolean;
  /** @default - POD_LOGS_HOST_PATH */
  readonly fileLogsHostPath?: string;
}

const NAME = 'SiteApp';

export class SiteApp extends Construct {
  constructor(scope: Construct, id: string, props: SiteAppProps) {
    super(scope, id);
    const ns = props.namespace ?? 'default';
    checkLabel(NAME, 'name', props.name);
    checkLabel(NAME, 'namespace', ns);
    if (!Number.isInteger(props.port) || props.port < 1 || props.port > 65535) throw new PropError(NAME, 'port', props.port, 'a port 1–65535');
    checkPositiveInt(NAME, 'replicas', props.replicas ?? 2, 1000);
    if (props.host) checkDnsName(NAME, 'host', props.host);
    const canary = props.canary;
    if (canary) {
      if (canary.version === DEFAULT_STABLE_VERSION) throw new PropError(NAME, 'canary.version', canary.version, 'a version label other than "stable" (the stable pods\' one)');
      const w = canary.weight ?? 0;
      if (!Number.isInteger(w) || w < 0 || w > 100) throw new PropError(NAME, 'canary.weight', w, 'a whole percentage 0–100');
      checkPositiveInt(NAME, 'canary.replicas', canary.replicas ?? 1, 1000);
    }
    const lbl = { app: props.name };
    const meta = { namespace: ns, labels: { ...lbl, 'app.kubernetes.io/name': props.name, 'app.kubernetes.io/managed-by': 'flotilla' } };
    let stable: DeploymentLike = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: props.name, ...meta },
      spec: {
        replicas: props.replicas ?? 2,
        selector: { matchLabels: lbl },
        template: {
          metadata: { labels: { ...lbl } },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'app',
                image: props.image,
                ports: [{ name: 'http', containerPort: props.port }],
                resources: resources('100m', '128Mi', '500m', '256Mi'),
                securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    };
    if (props.fileLogs) stable = deploymentWithPodLogs(stable, { hostPath: props.fileLogsHostPath ?? POD_LOGS_HOST_PATH, mountPath: POD_LOGS_MOUNT_PATH });
    if (canary) stable.spec.template = versionedStable(stable.spec.template);
    apiObject(this, 'Resource', stable);
    if (canary) apiObject(this, 'Canary', canaryDeployment(stable, { version: canary.version, image: canary.image }, canary.replicas ?? 1));
    apiObject(this, 'Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: props.name, ...meta },
      spec: { selector: lbl, ports: [{ name: 'http', port: props.port, targetPort: 'http', appProtocol: 'http' }] },
    });

    if (canary || props.consistentHash) {
      const routing = {
        name: props.name,
        namespace: ns,
        stableVersion: DEFAULT_STABLE_VERSION,
        canaryVersion: canary?.version ?? DEFAULT_STABLE_VERSION,
        canaryWeight: canary?.weight ?? 0,
        labels: meta.labels,
        ...(props.consistentHash ? { consistentHash: props.consistentHash } : {}),
        ...(props.host ? { hosts: [props.host], gateways: [props.gateway ?? 'istio-ingress/site-gateway'] } : {}),
      };
      const dr = destinationRule(routing);
      // Without a canary, only the load balancer: no subsets.
      new DestinationRule(this, 'DestinationRule', { metadata: dr.metadata, spec: canary ? dr.spec : { host: dr.spec.host, ...(dr.spec.trafficPolicy ? { trafficPolicy: dr.spec.trafficPolicy } : {}) } });
      if (canary) {
        const vs = virtualService(routing);
        new VirtualService(this, 'VirtualService', { metadata: vs.metadata, spec: vs.spec });
      }
    }
    if (props.rateLimit) {
      checkPositiveInt(NAME, 'rateLimit.requestsPerSecond', props.rateLimit.requestsPerSecond);
      const f = localRateLimitFilter({ name: props.name, namespace: ns, selector: lbl, requests: props.rateLimit.requestsPerSecond, ...(props.rateLimit.burst ? { burst: props.rateLimit.burst } : {}), labels: meta.labels });
      const [p] = f.spec.configPatches;
      new EnvoyFilter(this, 'RateLimit', {
        metadata: f.metadata,
        spec: {
          workloadSelector: f.spec.workloadSelector,
          configPatches: [
            {
              applyTo: EnvoyFilterSpecConfigPatchesApplyTo.HTTP_UNDERSCORE_FILTER,
              match: { ...p!.match, context: EnvoyFilterSpecConfigPatchesMatchContext.SIDECAR_UNDERSCORE_INBOUND },
              patch: { ...p!.patch, operation: EnvoyFilterSpecConfigPatchesPatchOperation.INSERT_UNDERSCORE_BEFORE },
            },
          ],
        },
      });
    }
  }
}
