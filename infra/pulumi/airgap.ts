// Air-gap calculations (pure): where a chart is loaded from, and rewriting every image reference —
// in chart values and in synthesized objects — to the site registry. No I/O except the injected
// `exists` used to check a bundle.
import { join } from 'node:path';
import type { ChartRelease, K8sObject } from '../synth/types';

/** Splits an image reference into registry host and path (`docker.io` + `library/` for bare names). */
export function splitImage(ref: string): { registry: string; path: string } {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  if (slash > 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return { registry: first, path: ref.slice(slash + 1) };
  }
  return { registry: 'docker.io', path: slash < 0 ? `library/${ref}` : ref };
}

/**
 * `<registry>/<original path>`: `quay.io/jetstack/cert-manager-controller:v1.16.2` →
 * `registry.site/jetstack/cert-manager-controller:v1.16.2`; `nginx:1.27` → `registry.site/library/nginx:1.27`.
 * Idempotent: a reference already in the site registry is returned unchanged.
 */
export function rewriteImage(ref: string, registry: string): string {
  if (ref.startsWith(`${registry}/`)) return ref;
  return `${registry}/${splitImage(ref).path}`;
}

const hasDomain = (s: string) => splitImage(s).registry !== 'docker.io' || s.startsWith('docker.io/');
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Keys whose string value names a registry (or a registry plus org, Istio's `hub`). */
const REGISTRY_KEYS = new Set(['registry', 'imageRegistry']);
const HUB_KEYS = new Set(['hub']);
/** A `repository` is an image repository (not e.g. a Helm repo) when it sits next to these keys. */
const IMAGE_SIBLINGS = ['tag', 'digest', 'pullPolicy', 'registry', 'sha'];

/**
 * Rewrites the image references of Helm chart values to the site registry, returning a new object
 * (the input is not changed). Handles the shapes upstream charts use: `image: "<ref>"`,
 * `{ registry, repository|image, tag }` (only `registry` changes; a repository carrying its own
 * host loses it), `{ repository: "<host>/<path>", tag }`, `global.imageRegistry`, and Istio's `hub`.
 */
export function rewriteChartValues<T>(values: T, registry: string): T {
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (!isRecord(v)) {
      if (typeof v !== 'string' || v === '') return v;
      if (key === 'image') return rewriteImage(v, registry);
      if (key !== undefined && REGISTRY_KEYS.has(key)) return registry;
      if (key !== undefined && HUB_KEYS.has(key)) return rewriteImage(v, registry);
      return v;
    }
    const out: Record<string, unknown> = {};
    const hasRegistry = typeof v.registry === 'string';
    const imageish = key === 'image' || IMAGE_SIBLINGS.some((k) => k in v);
    for (const [k, child] of Object.entries(v)) {
      if (typeof child === 'string' && (k === 'repository' || k === 'image') && hasRegistry) {
        // The chart joins registry + repository: keep the path, drop a host written into it.
        out[k] = hasDomain(child) ? splitImage(child).path : child;
      } else if (typeof child === 'string' && k === 'repository') {
        out[k] = imageish && child !== '' ? rewriteImage(child, registry) : child;
      } else {
        out[k] = walk(child, k);
      }
    }
    return out;
  };
  return walk(values, undefined) as T;
}

/** True when `s` looks like `<host>/<path>:<tag>` (a registry-qualified image reference). */
function looksLikeQualifiedImage(s: string): boolean {
  // Host with a letter in its last label (not a CIDR), a path, and a tag or digest (not a label key
  // such as node-role.kubernetes.io/edge).
  return /^(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*(?::\d+)?\/[a-z0-9._/-]+(?::[\w.-]+|@sha256:[a-f0-9]+)$/.test(s);
}

/**
 * Every reference in chart values or objects that points outside `registry`: registry-like keys with
 * another value, `image`/`hub` values elsewhere, and any string shaped `<host>/<path>` on another
 * host. Used as the last guard of an air-gapped run (and by the tests, independently of the rewriter).
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

/** Rewrites every `image:` string anywhere in the objects (pod specs and custom resources). */
export function rewriteObjectImages(objects: readonly K8sObject[], registry: string): K8sObject[] {
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
    if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, c]) => [k, walk(c, k)]));
    if (typeof v === 'string' && key === 'image' && v !== '') return rewriteImage(v, registry);
    return v;
  };
  return objects.map((o) => walk(o, undefined) as K8sObject);
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

/** The release prepared for this run: values (and image list) rewritten when air-gapped. */
export function prepareRelease(rel: ChartRelease, registry: string | undefined): ChartRelease {
  if (registry === undefined) return rel;
  return {
    ...rel,
    values: rewriteChartValues(rel.values, registry),
    images: rel.images.map((i) => rewriteImage(i, registry)),
  };
}

/** Bundle archives the releases need that are not in the bundle (empty = complete). */
export function missingBundleCharts(releases: readonly ChartRelease[], bundleDir: string, exists: (p: string) => boolean): string[] {
  const paths = [...new Set(releases.map((r) => bundleChartPath(bundleDir, r)))];
  return paths.filter((p) => !exists(p)).sort();
}

export { looksLikeQualifiedImage };
