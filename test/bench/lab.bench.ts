// `npm run bench -- lab`: a real control plane (etcd, kube-apiserver, controller-manager, scheduler,
// kwok) from start to a Ready kwok node, p50/p95 over 5 starts, and its resident memory (the sum of
// the five processes' RSS, read from /proc once the node is Ready and again after a 5 s settle).
// Targets: start ≤ 15 s, RSS ≤ 600 MB per control plane.
import { readFileSync } from 'node:fs';
import { k8sAssets } from '../../scripts/lab/k8s-assets';
import { startControlPlane } from '../../scripts/lab/controlplane';
import { pct } from './percentile';
import type { BenchResult } from './run';

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export default async function bench(): Promise<BenchResult[]> {
  const assets = k8sAssets();
  if (!assets.ok) return [{ name: 'lab: control plane start', value: 0, unit: 'ms', detail: `skipped: ${assets.message.split('\n')[0]} (run scripts/setup)` }];
  const starts: number[] = [];
  const rss: number[] = [];
  const perProcess: Record<string, number[]> = {};
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const cp = await startControlPlane({ name: `bench-${i}`, nodes: [{ name: `bench-${i}-w1`, cpu: '8', memory: '16Gi' }] });
    starts.push(performance.now() - t0);
    try {
      await new Promise((r) => setTimeout(r, 5000)); // settle: the figure is steady-state memory, not start-up peak
      let total = 0;
      for (const [k, d] of Object.entries(cp.daemons)) {
        const mb = rssMb(d.pid);
        (perProcess[k] ??= []).push(mb);
        total += mb;
      }
      rss.push(total);
    } finally {
      await cp.stop();
    }
  }
  const detail = Object.entries(perProcess)
    .map(([k, v]) => `${k} ${Math.round(pct(v, 50))}`)
    .join(', ');
  return [
    { name: 'lab: control plane start → Ready node, p50 (5 starts)', value: pct(starts, 50), unit: 'ms', target: '≤ 15000 ms', ok: pct(starts, 50) <= 15_000 },
    { name: 'lab: control plane start → Ready node, p95 (5 starts)', value: pct(starts, 95), unit: 'ms', target: '≤ 15000 ms', ok: pct(starts, 95) <= 15_000 },
    { name: 'lab: RSS per control plane, p50 (5 processes)', value: pct(rss, 50), unit: 'MB', target: '≤ 600 MB', ok: pct(rss, 50) <= 600, detail: `MB per process: ${detail}` },
    { name: 'lab: RSS per control plane, max', value: Math.max(...rss), unit: 'MB', target: '≤ 600 MB', ok: Math.max(...rss) <= 600 },
  ];
}
