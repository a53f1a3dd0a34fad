// Wall time of a full mocked `pulumi up` program run (pulumi.runtime.setMocks) of the largest
// example stack: settings + inventory validation, synthesis of every cluster, plans, and every
// resource registered and answered by the mocks. Cold: includes importing the program modules.
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { BenchResult } from './run';
import { drain, installMocks } from '../pulumi/harness';
import { runtimeConfig, STACKS, stackSite } from '../pulumi/stacks';
import { testDeps } from '../pulumi/deps';

export default async function bench(): Promise<BenchResult[]> {
  const size = (s: string) => stackSite(s).spec.clusters.reduce((n, c) => n + c.nodes.length, 0);
  const stack = [...STACKS].sort((a, b) => size(b) - size(a) || a.localeCompare(b))[0]!;
  const { config, secretKeys, bundle } = runtimeConfig(stack, testDeps);
  let ms: number;
  let rec: Awaited<ReturnType<typeof installMocks>>;
  let entry: typeof import('../../infra/index');
  try {
    const t0 = performance.now();
    rec = await installMocks(stack, config, secretKeys);
    entry = await import('../../infra/index');
    await drain();
    ms = performance.now() - t0;
  } finally {
    if (bundle) rmSync(bundle, { recursive: true, force: true });
  }
  const clusters = Object.keys(entry.clusters).length;
  return [
    {
      name: `pulumi: mocked run of the largest stack (${stack})`,
      value: ms,
      unit: 'ms',
      target: '≤ 10000 ms',
      ok: ms <= 10_000,
      detail: `${rec.resources.length} resources, ${clusters} clusters, ${size(stack)} nodes`,
    },
  ];
}
