// Delivery benchmarks: preflight of 20 netns hosts running real sshd (the CLI runs inside a control
// namespace), and bundle + push throughput between two real docker-registry instances with the
// number of blobs deduplicated / mounted / skipped.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle } from '../../scripts/delivery/bundle';
import { RegistryClient } from '../../scripts/delivery/oci';
import { pushLayout } from '../../scripts/delivery/push';
import { isRoot, makeDir, missingTools } from '../lab/index';
import { flotilla, seedImage, startRegistry, writeInventory, writeKeys, writeSynthTree } from '../delivery/fixtures';
import { startSshLab } from '../delivery/lab-hosts';
import type { BenchResult } from './run';

async function preflightBench(): Promise<BenchResult[]> {
  if (!isRoot() || missingTools(['sshd', 'ssh-keygen', 'unshare']).length > 0) {
    return [{ name: 'preflight 20 hosts (skipped: needs root + sshd)', value: 0, unit: 'ms' }];
  }
  const dir = makeDir('bench-preflight');
  const specs = Array.from({ length: 20 }, (_, i) => ({ name: `n${String(i + 1).padStart(2, '0')}`, index: 10 + i }));
  const lab = await startSshLab(dir, specs);
  try {
    const inv = writeInventory(dir, {
      nodes: specs.map((s, i) => ({ name: s.name, address: lab.hosts.get(s.name)!.address, roles: i < 3 ? ['master'] : ['worker'] })),
      apiVip: `${lab.ctl.address.split('.').slice(0, 3).join('.')}.5/24`,
      concurrency: 20,
    });
    const t0 = performance.now();
    const r = await flotilla(['preflight', inv, '--format', 'json'], { netns: lab.ctl.netns });
    const wall = performance.now() - t0;
    const hosts = (JSON.parse(r.stdout || '{"hosts":[]}') as { hosts: { checks: unknown[] }[] }).hosts;
    const checks = hosts.reduce((n, h) => n + h.checks.length, 0);
    return [
      {
        name: 'preflight 20 hosts, wall (CLI incl. startup, in control netns)',
        value: wall,
        unit: 'ms',
        target: '≤ 5000 ms',
        ok: wall <= 5000 && hosts.length === 20,
        detail: `${hosts.length} hosts, ${checks} checks, exit ${r.code}`,
      },
    ];
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bundleBench(): Promise<BenchResult[]> {
  if (missingTools(['docker-registry']).length > 0) return [{ name: 'bundle/push (skipped: docker-registry missing)', value: 0, unit: 'MiB/s' }];
  const dir = makeDir('bench-bundle');
  const a = await startRegistry('bench-a');
  const b = await startRegistry('bench-b');
  try {
    const base = new Uint8Array(randomBytes(8 << 20)); // an 8 MiB base layer shared by every image
    const images: string[] = [];
    for (let i = 0; i < 12; i++) {
      const repo = i % 2 === 0 ? `platform/svc${i}` : `apps/svc${i}`;
      await seedImage(a.url, repo, '1.0', [base, new Uint8Array(randomBytes(1 << 20)), new Uint8Array(randomBytes(512 << 10))]);
      images.push(`${a.host}/${repo}:1.0`);
    }
    writeSynthTree(join(dir, 'synth'), 'bench', { images, charts: [], nodes: [], registryHost: 'registry.bench' });
    const keys = writeKeys(dir);
    const { createPrivateKey } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const out = join(dir, 'bundle');
    const t0 = performance.now();
    const r = await buildBundle({ siteDir: join(dir, 'synth', 'bench'), site: 'bench', out, signingKey: createPrivateKey(readFileSync(keys.priv)) });
    const tb = (performance.now() - t0) / 1000;
    const target = new RegistryClient(b.url);
    const t1 = performance.now();
    const p = await pushLayout(join(out, 'images'), target);
    const tp = (performance.now() - t1) / 1000;
    const again = new RegistryClient(b.url);
    const t2 = performance.now();
    await pushLayout(join(out, 'images'), again);
    const tr = (performance.now() - t2) / 1000;
    const logical = 12 * (8 + 1 + 0.5);
    return [
      { name: 'bundle: pull 12 images into one OCI layout', value: r.bytes / 1048576 / tb, unit: 'MiB/s', detail: `${(r.bytes / 1048576).toFixed(1)} MiB on disk for ${logical} MiB of image content in ${tb.toFixed(2)} s; ${r.blobsWritten} blobs written, ${r.blobsDeduplicated} deduplicated` },
      { name: 'install push: bundle → site registry', value: p.stats.bytesPushed / 1048576 / tp, unit: 'MiB/s', detail: `${tp.toFixed(2)} s; blobs ${p.stats.blobsPushed} pushed, ${p.stats.blobsMounted} mounted, ${p.stats.blobsSkipped} skipped; ${p.stats.requests} requests` },
      { name: 'install push again (idempotent)', value: tr * 1000, unit: 'ms', detail: `blobs pushed ${again.stats.blobsPushed}, ${again.stats.manifestsSkipped} images unchanged, ${again.stats.requests} requests` },
    ];
  } finally {
    await a.stop();
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function (): Promise<BenchResult[]> {
  return [...(await preflightBench()), ...(await bundleBench())];
}
