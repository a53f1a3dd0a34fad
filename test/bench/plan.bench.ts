// `cluster-mgr plan` compute for 10,000 apps × 50 members (target ≤ 100 ms, ≤ 200 MB RSS).
import { availableParallelism, loadavg } from 'node:os';
import type { BenchResult } from './run';
import { AppSchema, CapacitySchema, type App } from '../../cluster-mgr/config/schema';
import { planAll } from '../../cluster-mgr/core/plan';

const APPS = 10_000;
const MEMBERS = 50;

function fixture(): { apps: App[]; members: { name: string; labels: Record<string, string> }[]; capacity: ReturnType<typeof CapacitySchema.parse> } {
  const members = Array.from({ length: MEMBERS }, (_, i) => ({ name: `m${String(i).padStart(2, '0')}`, labels: { env: 'prod', site: `s${i % 5}` } }));
  const apps: App[] = [];
  const current: Record<string, Record<string, number>> = {};
  for (let i = 0; i < APPS; i++) {
    const spread = i % 10 === 0 ? 'weighted' : i % 25 === 0 ? 'duplicate' : 'capacity';
    apps.push(
      AppSchema.parse({
        name: `app-${i}`,
        namespace: `ns-${i % 100}`,
        replicas: 2 + (i % 40),
        template: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          spec: {
            selector: { matchLabels: { app: `app-${i}` } },
            template: { metadata: { labels: { app: `app-${i}` } }, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: `${100 + (i % 9) * 100}m`, memory: `${128 * (1 + (i % 4))}Mi` } } }] } },
          },
        },
        placement: { spread, ...(i % 7 === 0 ? { perCluster: { m00: { min: 1, max: 5 } } } : {}), ...(i % 3 === 0 ? { clusterSelector: { site: `s${i % 5}` } } : {}) },
      }),
    );
    if (i % 2 === 0) current[`ns-${i % 100}/app-${i}`] = { [members[i % MEMBERS]!.name]: 3, [members[(i + 1) % MEMBERS]!.name]: 2 };
  }
  const clusters: Record<string, unknown> = {};
  members.forEach((m, i) => {
    clusters[m.name] = { healthy: i % 17 !== 0, allocatable: { cpu: String(400 + i * 8), memory: `${1600 + i * 32}Gi`, pods: 5500 }, allocated: { cpu: String(100 + i), memory: `${400 + i}Gi`, pods: 1000 } };
  });
  return { apps, members, capacity: CapacitySchema.parse({ clusters, current }) };
}

export default async function bench(): Promise<BenchResult[]> {
  const f = fixture();
  planAll(f.apps.slice(0, 200), f.members, f.capacity); // warm-up (JIT)
  const times: number[] = [];
  let out: ReturnType<typeof planAll> | undefined;
  for (let t = 0; t < 5; t++) {
    const t0 = performance.now();
    out = planAll(f.apps, f.members, f.capacity);
    times.push(performance.now() - t0);
  }
  const rss = process.memoryUsage().rss / 1024 / 1024;
  times.sort((a, b) => a - b);
  const median = times[2]!;
  const placed = Object.values(out!).reduce((s, e) => s + Object.values(e.assignments).reduce((a, b) => a + b, 0), 0);
  return [
    { name: `plan: ${APPS} apps × ${MEMBERS} members (median of 5)`, value: median, unit: 'ms', target: '≤ 100 ms', ok: median <= 100, detail: `min ${times[0]!.toFixed(1)} ms, ${placed} replicas placed, load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores` },
    { name: 'plan: process RSS after the runs', value: rss, unit: 'MB', target: '≤ 200 MB', ok: rss <= 200 },
  ];
}
