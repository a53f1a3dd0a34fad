// Air-gap calculations (pure): where a chart is loaded from, which bundle archives are missing, and
// the last guard that no image reference points outside the site registry. The rewriting itself is
// done by synthesis (the chart catalog and the constructs, `airGapped: true`); nothing here rewrites.
// No I/O except the injected `exists` used to check a bundle.
import { join } from 'node:path';
import { splitImage } from '../lib/image';
import type { ChartRelease } from '../synth/types';

const hasDomain = (s: string) => splitImage(s).registry !== 'docker.io' || s.startsWith('docker.io/');
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Keys whose string value names a registry (or a registry plus org, Istio's `hub`). */
const REGISTRY_KEYS = new Set(['registry', 'imageRegistry']);
const HUB_KEYS = new Set(['hub']);

/** True when `s` looks like `<host>/<path>:<tag>` (a registry-qualified image reference). */
function looksLikeQualifiedImage(s: string): boolean {
  // Host with a letter in its last label (not a CIDR), a path, and a tag or digest (not a label key
  // such as node-role.kubernetes.io/edge).
  return /^(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*(?::\d+)?\/[a-z0-9._/-]+(?::[\w.-]+|@sha256:[a-f0-9]+)$/.test(s);
}

/**
 * Every reference in chart values or objects that points outside `registry`: registry-like keys with
 * another value, `image`/`hub` values elsewhere, and any string shaped `<host>/<path>` on another
 * host. The last guard of an air-gapped run, independent of the synthesis that rewrote them.
 */
export function foreignImageRefs(value: unknown, registry: string): string[] {
  const found: string[] = [];
  const walk = (v: unknown, key: string | undefined, path: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, key, `${path}[${i}]`));
    if (isRecord(v)) {
      const hasRegistry = typeof v.registry === 'string';
      for (const [k, child] of Object.entries(v)) {
        if (hasRegistry && (k === 'repository' || k === 'image') && typeof child === 'string' && !hasDomain(child)) continue;
        walk(child, k, path ? `${path}.${k}` : k);
      }
      return;
    }
    if (typeof v !== 'string' || v === '' || key === 'apiVersion') return;
    const inSite = v === registry || v.startsWith(`${registry}/`);
    if (inSite) return;
    if ((key !== undefined && (REGISTRY_KEYS.has(key) || HUB_KEYS.has(key))) || key === 'image' || looksLikeQualifiedImage(v)) {
      found.push(`${path}=${v}`);
    }
  };
  walk(value, undefined, '');
  return found;
}

/** Helm v4 Chart source arguments for a release. */
export interface ChartSource {
  readonly chart: string;
  readonly version?: string;
  readonly repositoryOpts?: { readonly repo: string };
}

/** The local archive of a release inside an unpacked bundle: `charts/<chart>-<version>.tgz`. */
export function bundleChartPath(bundleDir: string, rel: Pick<ChartRelease, 'chart' | 'version'>): string {
  return join(bundleDir, 'charts', `${rel.chart}-${rel.version}.tgz`);
}

/**
 * Where Helm loads a release from: its upstream repository (OCI references become `oci://…/<chart>`),
 * or with `bundleDir` set the local `.tgz` in the bundle (never a remote source).
 */
export function chartSource(rel: ChartRelease, bundleDir?: string): ChartSource {
  if (bundleDir !== undefined) return { chart: bundleChartPath(bundleDir, rel) };
  if (rel.repository.startsWith('oci://')) return { chart: `${rel.repository.replace(/\/+$/, '')}/${rel.chart}`, version: rel.version };
  return { chart: rel.chart, version: rel.version, repositoryOpts: { repo: rel.repository } };
}

/** True when a chart source would make Helm reach the network. */
export function isRemoteSource(src: ChartSource): boolean {
  return src.repositoryOpts !== undefined || /^[a-z][a-z0-9+.-]*:\/\//.test(src.chart);
}

/** Bundle archives the releases need that are not in the bundle (empty = complete). */
export function missingBundleCharts(releases: readonly ChartRelease[], bundleDir: string, exists: (p: string) => boolean): string[] {
  const paths = [...new Set(releases.map((r) => bundleChartPath(bundleDir, r)))];
  return paths.filter((p) => !exists(p)).sort();
}

export { looksLikeQualifiedImage };
