// Host-side cleanup of per-pod log folders: the rendered script runs for real (/bin/sh, find) on a
// temp folder with aged and fresh pod folders; the cron entry and the host-layer destinations come
// from the inventory's retention.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { planHosts } from '../../infra/pulumi/hosts';
import { logCleanupCron, logCleanupScript } from '../../infra/lib/pod-logs';
import { loadSite } from '../../infra/site/index';
import { renderHostFiles } from '../../infra/render/index';

const run = promisify(execFile);
const DAY = 86_400_000;
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A pod folder with one log file, folder and file last written `ageDays` ago. */
function podFolder(root: string, name: string, ageDays: number, fileAgeDays = ageDays): void {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  const f = join(d, 'app.log');
  writeFileSync(f, 'line\n');
  const at = (days: number) => new Date(Date.now() - days * DAY);
  utimesSync(f, at(fileAgeDays), at(fileAgeDays));
  utimesSync(d, at(ageDays), at(ageDays));
}

describe('flotilla-log-cleanup (real sh + find)', () => {
  it('removes pod folders idle longer than the retention, keeps fresh ones and anything else', async () => {
    dir = mkdtempSync(join(tmpdir(), 'log-cleanup-'));
    const root = join(dir, 'k8s');
    podFolder(root, 'shop_web-old', 10);
    podFolder(root, 'shop_web-edge', 8);
    podFolder(root, 'shop_web-new', 1.5); // kept at 7 days, removed at 1 (away from find's whole-day boundaries)
    podFolder(root, 'shop_web-appending', 30, 0.5); // old folder, but its log is still written
    podFolder(root, 'not-a-pod-folder', 30);
    writeFileSync(join(root, 'stray_file.log'), 'x');
    utimesSync(join(root, 'stray_file.log'), new Date(Date.now() - 30 * DAY), new Date(Date.now() - 30 * DAY));
    const script = join(dir, 'flotilla-log-cleanup');
    writeFileSync(script, logCleanupScript(root, 7), { mode: 0o755 });

    const r = await run('/bin/sh', [script]);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([`removed ${root}/shop_web-edge`, `removed ${root}/shop_web-old`]);
    expect(readdirSync(root).sort()).toEqual(['not-a-pod-folder', 'shop_web-appending', 'shop_web-new', 'stray_file.log']);

    // arguments override the rendered defaults; a second run finds nothing more
    const again = await run('/bin/sh', [script, root, '7']);
    expect(again.stdout).toBe('');
    const shorter = await run('/bin/sh', [script, root, '1']);
    expect(shorter.stdout.trim(), shorter.stderr + readdirSync(root).join()).toBe(`removed ${root}/shop_web-new`);
  });

  it('a missing root is not an error; a bad retention is exit 2 with a message', async () => {
    dir = mkdtempSync(join(tmpdir(), 'log-cleanup-'));
    const script = join(dir, 'flotilla-log-cleanup');
    writeFileSync(script, logCleanupScript(join(dir, 'absent'), 7), { mode: 0o755 });
    await expect(run('/bin/sh', [script])).resolves.toMatchObject({ stdout: '' });
    expect(existsSync(join(dir, 'absent'))).toBe(false);
    const bad = await run('/bin/sh', [script, dir, 'x7']).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/DAYS must be a whole number of days, got 'x7'/) });
    const zero = await run('/bin/sh', [script, dir, '0']).catch((e: { code: number; stderr: string }) => e);
    expect(zero).toMatchObject({ code: 2 });
  });

  it('quotes paths in the script and the cron entry', async () => {
    dir = mkdtempSync(join(tmpdir(), 'log cleanup '));
    const root = join(dir, "pod logs 'x'");
    podFolder(root, 'a_b', 9);
    const script = join(dir, 'cleanup');
    writeFileSync(script, logCleanupScript(root, 3), { mode: 0o755 });
    expect((await run('/bin/sh', [script])).stdout.trim()).toBe(`removed ${root}/a_b`);
    expect(logCleanupCron('/usr/local/sbin/flotilla-log-cleanup', '/var/log/k8s', 7)).toMatch(/^17 3 \* \* \* root '\/usr\/local\/sbin\/flotilla-log-cleanup' '\/var\/log\/k8s' 7 >\/dev\/null$/m);
  });
});

describe('host layer', () => {
  it('installs the script and the cron entry on every node, with the inventory retention', async () => {
    const r = await loadSite('examples/bj1.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const plans = planHosts(r.value, renderHostFiles(r.value));
    const nodes = r.value.spec.clusters.flatMap((c) => c.nodes.map((n) => n.name));
    expect(plans.map((p) => p.host).sort()).toEqual([...nodes].sort());
    for (const p of plans) {
      const script = p.files.find((f) => f.remotePath === '/usr/local/sbin/flotilla-log-cleanup');
      const cron = p.files.find((f) => f.remotePath === '/etc/cron.d/flotilla-log-cleanup');
      expect(script?.mode).toBe('0755');
      expect(script?.content).toContain(`days=\${2:-${r.value.spec.logging.fileLogs.retentionDays}}`);
      expect(cron?.mode).toBe('0644');
      expect(cron?.content).toContain(`'/var/log/k8s' ${r.value.spec.logging.fileLogs.retentionDays}`);
      expect(p.script).toContain("'/etc/cron.d/flotilla-log-cleanup'");
    }
  });
});
