// `cluster-mgr sim` as a real process: files it writes (valid kubeconfigs, a Federation that passes
// cluster-mgr's own loader, sim.json), clean SIGTERM, and bad flags → exit 2.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFederation } from '../../cluster-mgr/config';
import { run, waitFor } from '../lab';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('cluster-mgr sim', () => {
  it('writes kubeconfigs, federation.yaml and sim.json, serves, and exits 0 on SIGTERM', async () => {
    const out = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    dirs.push(out);
    const child = spawn('node', ['bin/cluster-mgr.mjs', 'sim', '--names', 'east,west', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    try {
      await waitFor(() => stdout.includes('running;'), { what: `sim to start (stderr: ${stderr})`, timeoutMs: 30_000 });
      expect(stdout).toContain(`kubectl --kubeconfig ${join(out, 'kubeconfigs', 'east.yaml')} get nodes`);
      const simJson = JSON.parse(await readFile(join(out, 'sim.json'), 'utf8'));
      expect(Object.keys(simJson.members)).toEqual(['east', 'west']);
      for (const m of Object.values(simJson.members) as { api: string; ingress: string; fault: string }[]) {
        for (const u of [m.api, m.ingress, m.fault]) expect(new URL(u).hostname).toBe('127.0.0.1');
        expect(await (await fetch(`${m.api}/readyz`, { signal: AbortSignal.timeout(3000) })).text()).toBe('ok');
        expect(((await (await fetch(m.fault, { signal: AbortSignal.timeout(3000) })).json()) as { mode: string }).mode).toBe('none');
      }
      const kc = parse(await readFile(join(out, 'kubeconfigs', 'west.yaml'), 'utf8'));
      expect(kc['current-context']).toBe('west');
      expect(kc.clusters[0].cluster.server).toBe(simJson.members.west.api);
      expect(kc.users[0].user.token).toMatch(/^sim-[0-9a-f]{24}$/);
      // The Federation file passes cluster-mgr's own loader, kubeconfig files included.
      const fed = await loadFederation(join(out, 'federation.yaml'));
      expect(fed.ok, JSON.stringify(fed)).toBe(true);
      if (fed.ok) {
        expect(fed.value.spec.members.map((m) => m.name)).toEqual(['east', 'west']);
        expect(fed.value.spec.apps[0]!.name).toBe('web');
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('cluster-mgr sim: stopped');
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });

  it.each([
    [["--clusters", "0"], /--clusters: got "0", expected a whole number 1\.\.50/],
    [['--clusters', 'x'], /--clusters: got "x", expected a whole number 1\.\.50/],
    [['--names', 'Bad_Name'], /member name "Bad_Name" is not a DNS label/],
    [['--names', 'a,a'], /appears twice/],
  ])('%j exits 2 with a clear message', async (args, msg) => {
    const r = await run('node', ['bin/cluster-mgr.mjs', 'sim', ...args], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
  });
});
