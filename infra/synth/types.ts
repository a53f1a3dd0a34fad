// The synthesis contract between constructs/renderers and their consumers (flotilla synth, the
// Pulumi program, the bundle). Implementations live in infra/synth/index.ts and infra/catalog/.
import type { RenderedFile } from '../render/index';

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
] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** A plain Kubernetes object (apiVersion, kind, metadata, …) as cdk8s synthesizes it. */
export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
};

export interface ComponentManifests {
  readonly component: ComponentName;
  /** Objects in apply order (CRs after the namespaces/secrets they need). */
  readonly objects: readonly K8sObject[];
}

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

export interface ClusterSynth {
  readonly cluster: string;
  readonly components: readonly ComponentManifests[];
  readonly charts: readonly ChartRelease[];
}

export interface SynthOptions {
  /**
   * Air-gapped mode: rewrite every image reference (objects and chart values) to the site registry
   * (`<registry.host>/<original path>`).
   * @default - images keep their upstream references
   */
  readonly airGapped?: boolean;
}

export interface SiteSynth {
  readonly site: string;
  readonly clusters: readonly ClusterSynth[];
  /** Host and network files, paths relative to `OUT/<site>/`. */
  readonly hostFiles: readonly RenderedFile[];
  /** Every image any object or chart needs, sorted, unique. */
  readonly images: readonly string[];
}
