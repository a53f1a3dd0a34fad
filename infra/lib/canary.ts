// Canary releases as plain Kubernetes objects: the canary Deployment derived from the stable one,
// the DestinationRule with `stable`/`canary` subsets (by the `version` pod label, plus the
// consistent-hash load balancer), the weighted VirtualService, and Envoy's local rate limit as an
// EnvoyFilter. Used by the site-app construct (constructs/app.ts, typed against the Istio bindings)
// and by cluster-mgr for FederatedApps (cluster-mgr/daemon/canary.ts). The weights move with
// `cluster-mgr canary promote|rollback` (cluster-mgr/core/canary.ts).

/** The pod label the DestinationRule subsets select on (Istio's convention). */
export const VERSION_LABEL = 'version';
export const DEFAULT_STABLE_VERSION = 'stable';
export const CANARY_SUFFIX = '-canary';

export interface PodTemplateLike {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec: { containers: Array<{ name: string; image?: string; [k: string]: unknown }>; [k: string]: unknown };
}

export interface DeploymentLike {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec: { replicas?: number; selector: { matchLabels?: Record<string, string>; [k: string]: unknown }; template: PodTemplateLike; [k: string]: unknown };
}

/** A declared canary: the new version of an app's pods. */
export interface CanaryVersion {
  /** Value of the `version` label of the canary pods (the `canary` subset). */
  readonly version: string;
  /** Image of the canary's first container (or of `container`). @default - the stable image */
  readonly image?: string;
  /** Container whose image `image` replaces. @default - the first container */
  readonly container?: string;
  /** A whole pod template for the canary instead of the stable one (its labels are kept and extended). */
  readonly template?: PodTemplateLike;
}

export const canaryName = (name: string): string => `${name}${CANARY_SUFFIX}`;

/** The `version` label of the stable pods: the template's own, else `stable`. */
export const stableVersionOf = (template: PodTemplateLike): string => template.metadata?.labels?.[VERSION_LABEL] ?? DEFAULT_STABLE_VERSION;

/** A copy of the stable pod template that carries its `version` label (so the stable subset selects it). */
export function versionedStable<T extends PodTemplateLike>(template: T): T {
  const out = structuredClone(template);
  out.metadata = { ...(out.metadata ?? {}), labels: { ...(out.metadata?.labels ?? {}), [VERSION_LABEL]: stableVersionOf(template) } };
  return out;
}

/**
 * The canary Deployment: the stable one renamed `<name>-canary`, its pods labelled with the canary
 * version (also in the selector, so the two Deployments' ReplicaSets never share pods), the image or
 * the whole pod template replaced. Throws when `container` names no container (callers validate first).
 */
export function canaryDeployment<D extends DeploymentLike>(stable: D, canary: CanaryVersion, replicas: number): D {
  const out = structuredClone(stable);
  const name = canaryName(out.metadata?.name ?? 'app');
  const base = canary.template ? structuredClone(canary.template) : out.spec.template;
  if (canary.image) {
    const c = canary.container ? base.spec.containers.find((x) => x.name === canary.container) : base.spec.containers[0];
    if (!c) throw new Error(`canary.container ${JSON.stringify(canary.container)} is not a container of the template: expected one of ${base.spec.containers.map((x) => x.name).join(', ')}`);
    c.image = canary.image;
  }
  const podLabels = { ...(out.spec.template.metadata?.labels ?? {}), ...(base.metadata?.labels ?? {}), [VERSION_LABEL]: canary.version };
  out.metadata = { ...(out.metadata ?? {}), name };
  out.spec = {
    ...out.spec,
    replicas,
    selector: { ...out.spec.selector, matchLabels: { ...(out.spec.selector.matchLabels ?? {}), [VERSION_LABEL]: canary.version } },
    template: { ...base, metadata: { ...(base.metadata ?? {}), labels: podLabels } },
  };
  return out;
}

/** Consistent-hash load balancing (sticky sessions): by header, cookie or source IP. */
export type ConsistentHash = { readonly httpHeaderName: string } | { readonly httpCookie: { readonly name: string; readonly ttl: string } } | { readonly useSourceIp: true };

export interface RoutingOptions {
  readonly name: string;
  readonly namespace: string;
  /** The in-mesh host of the app's Service. @default - `<name>.<namespace>.svc.cluster.local` */
  readonly host?: string;
  readonly stableVersion: string;
  readonly canaryVersion: string;
  /** Canary share of traffic, 0–100. */
  readonly canaryWeight: number;
  readonly consistentHash?: ConsistentHash;
  /** Extra hosts the VirtualService answers (e.g. `shop.bj1.example.com` through `gateways`). */
  readonly hosts?: readonly string[];
  /** Gateways (`<ns>/<name>`) besides the mesh. @default - the mesh only */
  readonly gateways?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export const serviceHost = (name: string, namespace: string): string => `${name}.${namespace}.svc.cluster.local`;

export function destinationRule(o: RoutingOptions) {
  const host = o.host ?? serviceHost(o.name, o.namespace);
  return {
    apiVersion: 'networking.istio.io/v1' as const,
    kind: 'DestinationRule' as const,
    metadata: { name: o.name, namespace: o.namespace, ...(o.labels ? { labels: { ...o.labels } } : {}) },
    spec: {
      host,
      ...(o.consistentHash ? { trafficPolicy: { loadBalancer: { consistentHash: { ...o.consistentHash } } } } : {}),
      subsets: [
        { name: 'stable', labels: { [VERSION_LABEL]: o.stableVersion } },
        { name: 'canary', labels: { [VERSION_LABEL]: o.canaryVersion } },
      ],
    },
  };
}

export function virtualService(o: RoutingOptions) {
  const host = o.host ?? serviceHost(o.name, o.namespace);
  if (!Number.isInteger(o.canaryWeight) || o.canaryWeight < 0 || o.canaryWeight > 100) throw new Error(`canary weight ${JSON.stringify(o.canaryWeight)} is not a whole percentage 0–100`);
  return {
    apiVersion: 'networking.istio.io/v1' as const,
    kind: 'VirtualService' as const,
    metadata: { name: o.name, namespace: o.namespace, ...(o.labels ? { labels: { ...o.labels } } : {}) },
    spec: {
      hosts: [host, ...(o.hosts ?? [])],
      ...(o.gateways?.length ? { gateways: ['mesh', ...o.gateways] } : {}),
      http: [
        {
          name: 'canary',
          route: [
            { destination: { host, subset: 'stable' }, weight: 100 - o.canaryWeight },
            { destination: { host, subset: 'canary' }, weight: o.canaryWeight },
          ],
        },
      ],
    },
  };
}

export interface LocalRateLimitOptions {
  readonly name: string;
  readonly namespace: string;
  /** Pod labels of the app (the sidecars that enforce it). */
  readonly selector: Readonly<Record<string, string>>;
  /** Requests allowed per `fillInterval`, per pod. */
  readonly requests: number;
  /** @default '1s' */
  readonly fillInterval?: string;
  /** Bucket size (bursts). @default - `requests` */
  readonly burst?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

const ALWAYS = { default_value: { numerator: 100, denominator: 'HUNDRED' } };

/** Envoy's local rate limit on the app's inbound sidecar listener (Istio's documented EnvoyFilter). */
export function localRateLimitFilter(o: LocalRateLimitOptions) {
  return {
    apiVersion: 'networking.istio.io/v1alpha3' as const,
    kind: 'EnvoyFilter' as const,
    metadata: { name: `${o.name}-local-ratelimit`, namespace: o.namespace, ...(o.labels ? { labels: { ...o.labels } } : {}) },
    spec: {
      workloadSelector: { labels: { ...o.selector } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER' as const,
          match: { context: 'SIDECAR_INBOUND' as const, listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } } },
          patch: {
            operation: 'INSERT_BEFORE' as const,
            value: {
              name: 'envoy.filters.http.local_ratelimit',
              typed_config: {
                '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
                type_url: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
                value: {
                  stat_prefix: 'http_local_rate_limiter',
                  token_bucket: { max_tokens: o.burst ?? o.requests, tokens_per_fill: o.requests, fill_interval: o.fillInterval ?? '1s' },
                  filter_enabled: { runtime_key: 'local_rate_limit_enabled', ...ALWAYS },
                  filter_enforced: { runtime_key: 'local_rate_limit_enforced', ...ALWAYS },
                  response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } }],
                },
              },
            },
          },
        },
      ],
    },
  };
}
