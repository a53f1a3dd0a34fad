// `cluster-mgr plan` compute for 10,000 apps × 50 members (target ≤ 100 ms, ≤ 200 MB RSS).
// Measured in a fresh child process (this file run with --plan-bench-child: wall median over the
// runs, process CPU time, peak RSS via getrusage) and, for comparison, in the bench process itself.
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import type { BenchResult } from './run';
import { AppSchema, CapacitySchema, type App } from '../../cluster-mgr/config/schema';
import { planAll } from '../../cluster-mgr/core/plan';

const APPS = 10_000;
const MEMBERS = 50;

export function fixture(): { apps: App[]; members: { name: string; labels: Record<string, string> }[]; capacity: ReturnType<typeof CapacitySchema.parse> } {
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

const RUNS = 9;
const WARMUP = 2;

interface Measured {
  readonly wall: number[];
  readonly cpu: number[];
  /** RSS (MB) once the fixture is built, before any plan. */
  readonly rssBefore: number;
  /** RSS (MB) after the runs. */
  readonly rssAfter: number;
  /** Peak RSS (MB) of the whole process (getrusage maxrss). */
  readonly peakRss: number;
  readonly placed: number;
}

/** Warm-up, then RUNS timed plans: wall (monotonic) and process CPU time per plan. */
function measure(): Measured {
  const f = fixture();
  const rssBefore = process.memoryUsage().rss / 2 ** 20;
  let out: ReturnType<typeof planAll> | undefined;
  for (let t = 0; t < WARMUP; t++) out = planAll(f.apps, f.members, f.capacity); // JIT
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let t = 0; t < RUNS; t++) {
    out = undefined; // the previous result is garbage, as it would be in `cluster-mgr plan`
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    out = planAll(f.apps, f.members, f.capacity);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const placed = [...out!.values()].reduce((s, e) => s + Object.values(e.assignments).reduce((a, b) => a + b, 0), 0);
  return { wall, cpu, rssBefore, rssAfter: process.memoryUsage().rss / 2 ** 20, peakRss: process.resourceUsage().maxRSS / 1024, placed };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** The same measurement in a fresh node process (nothing else loaded or allocated before it). */
function measureInChild(): Measured {
  const r = spawnSync(process.execPath, ['bin/run-ts.mjs', 'test/bench/plan.bench.ts', CHILD_FLAG], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`plan bench child failed (exit ${r.status ?? r.signal}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

const CHILD_FLAG = '--plan-bench-child';
if (process.argv[2] === CHILD_FLAG && process.argv[1]?.endsWith('plan.bench.ts')) process.stdout.write(`${JSON.stringify(measure())}\n`);

export default async function bench(): Promise<BenchResult[]> {
  const child = measureInChild();
  const shared = measure();
  const wall = median(child.wall);
  const load = `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  return [
    {
      name: `plan: ${APPS} apps × ${MEMBERS} members, wall (median of ${RUNS})`,
      value: wall,
      unit: 'ms',
      target: '≤ 100 ms',
      ok: wall <= 100,
      detail: `fresh process after ${WARMUP} warm-up plans: min ${ms(Math.min(...child.wall))}, cpu median ${ms(median(child.cpu))}; in the bench process: median ${ms(median(shared.wall))}; ${child.placed} replicas placed; ${load}`,
    },
    {
      name: 'plan: peak RSS, fresh process',
      value: child.peakRss,
      unit: 'MB',
      target: '≤ 200 MB',
      ok: child.peakRss <= 200,
      detail: `node + tsx + fixture + ${WARMUP + RUNS} plans; RSS ${child.rssBefore.toFixed(0)} MB before the first plan, ${child.rssAfter.toFixed(0)} MB after the last`,
    },
    {
      name: 'plan: RSS after the runs, bench process',
      value: shared.rssAfter,
      unit: 'MB',
      detail: `shared with whatever ran before (npm run bench runs every bench in one process); peak ${shared.peakRss.toFixed(0)} MB`,
    },
  ];
}
