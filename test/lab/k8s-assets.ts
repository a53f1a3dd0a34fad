// Real-control-plane test requirement: the binaries scripts/k8s-assets finds (see scripts/lab/k8s-assets.ts).
import type { TestContext } from 'vitest';
import { k8sAssets, type AssetsResult } from '../../scripts/lab/k8s-assets';
import { isCI } from './tools';

export * from '../../scripts/lab/k8s-assets';

/**
 * Call first in a test that needs real control planes: returns the assets directory. Missing
 * binaries fail the test under CI=true and skip it (with the reason recorded) elsewhere.
 */
export function requireK8s(ctx: TestContext): string {
  return requireAssets(ctx, 'lab Kubernetes binaries', k8sAssets());
}

/** The guard behind requireK8s (and test/pulumi's requirePulumi) for one assets script's answer. */
export function requireAssets(ctx: TestContext, what: string, a: AssetsResult): string {
  if (a.ok) return a.dir;
  const reason = `${what} missing: ${a.message.split('\n')[0]} (run scripts/setup)`;
  if (isCI()) throw new Error(`required under CI=true: ${reason}`);
  ctx.task.meta.skipReason = reason;
  ctx.skip();
  return '';
}
