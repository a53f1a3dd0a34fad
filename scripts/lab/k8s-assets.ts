// Where the lab's Kubernetes binaries are: scripts/k8s-assets decides (KUBEBUILDER_ASSETS or the
// version-keyed cache that scripts/setup fills). Tests ask here; nothing builds from a test.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const K8S_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'etcd', 'kwok'] as const;
export type K8sBinary = (typeof K8S_BINARIES)[number];

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface UpstreamVersions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly kwok: string;
}

export function upstreamVersions(): UpstreamVersions {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'scripts', 'upstream', 'versions.json'), 'utf8')) as UpstreamVersions;
}

export type AssetsResult = { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly message: string };

const cached = new Map<string, AssetsResult>();

/**
 * What `scripts/<script>` (k8s-assets, pulumi-assets) prints: the directory holding every one of
 * `binaries`, or the reason there is none (with the fix). Asked once per process.
 */
export function scriptAssets(script: string, binaries: readonly string[]): AssetsResult {
  const hit = cached.get(script);
  if (hit) return hit;
  let r: AssetsResult;
  try {
    const dir = execFileSync(join(REPO_ROOT, 'scripts', script), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    for (const b of binaries) accessSync(join(dir, b), constants.X_OK);
    r = { ok: true, dir };
  } catch (err) {
    const e = err as { stderr?: Buffer | string; message: string };
    const msg = (e.stderr ? String(e.stderr) : e.message).trim();
    r = { ok: false, message: msg || `scripts/${script} failed` };
  }
  cached.set(script, r);
  return r;
}

/** The directory holding every lab binary, or the reason there is none (with the fix). */
export function k8sAssets(): AssetsResult {
  return scriptAssets('k8s-assets', K8S_BINARIES);
}

/** Path of one lab binary; throws with the fix when the assets are missing. */
export function k8sBinary(name: K8sBinary): string {
  const a = k8sAssets();
  if (!a.ok) throw new Error(a.message);
  return join(a.dir, name);
}
