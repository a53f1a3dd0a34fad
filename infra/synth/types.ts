// The synthesis contract between constructs/renderers and their consumers (flotilla synth, the
// Pulumi program, the bundle). Implementations live in infra/synth/index.ts and infra/catalog/.
import type { ChartRelease, ComponentName } from '../catalog/types';
import type { RenderedFile } from '../render/index';

export { COMPONENTS, type ChartRelease, type ComponentName } from '../catalog/types';

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
