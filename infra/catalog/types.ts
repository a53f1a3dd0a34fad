// What the chart catalog answers with, and the platform components its releases belong to.

/** Platform components, one cdk8s construct each; also the `<component>.k8s.yaml` file names. */
export const COMPONENTS = [
  'calico',
  'edge-gateway',
  'istio',
  'cert-manager',
  'logging',
  'monitoring',
  'registry',
  'storage',
  'federation',
  'apps',
] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** A pinned upstream Helm chart release for one cluster. */
export interface ChartRelease {
  /** Stable id, unique per cluster, e.g. `tigera-operator`, `istio-base`. */
  readonly id: string;
  /** The component whose objects depend on this chart. */
  readonly component: ComponentName;
  /** Chart name in its repository. */
  readonly chart: string;
  /** Upstream Helm repository URL (or OCI reference). */
  readonly repository: string;
  /** Exact chart version. */
  readonly version: string;
  readonly namespace: string;
  /** Values for this cluster. */
  readonly values: Record<string, unknown>;
  /** Images this chart deploys with these values. */
  readonly images: readonly string[];
}
