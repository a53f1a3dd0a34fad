// DNS (RFC 2136 + TSIG, real BIND 9) as the traffic layer of the REAL daemon: `traffic.dns` with
// per-member `members` addresses. A member taken down loses its A records; after recovery they
// return — and a steady federation sends no update every pass (DNS has no weights).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterMgr, stopAfterClusterMgr, writeFederation } from '../cluster-mgr/harness';
import { startSim, type Sim } from '../../cluster-mgr/sim/index';
import { freePort, missingTools, requireTools, runOk, startDaemon, waitFor, type Daemon } from '../lab/index';

const TOOLS = ['named', 'nsupdate', 'dig', 'tsig-keygen'];

describe('DNS traffic switch driven by the daemon', () => {
  let sim: Sim | undefined;
  let named: Daemon | undefined;
  let cm: Daemon | undefined;
  let port = 0;
  let apiUrl = '';

  const dig = async () => {
    const r = await runOk('dig', ['@127.0.0.1', '-p', String(port), '+short', '+norecurse', 'shop.example.test', 'A']);
    return r.stdout.trim().split('\n').filter(Boolean).sort();
  };

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'e2e-dns-'));
    port = await freePort();
    const key = await runOk('tsig-keygen', ['-a', 'hmac-sha256', 'flotilla']);
    writeFileSync(join(dir, 'tsig.key'), key.stdout, { mode: 0o600 });
    writeFileSync(join(dir, 'example.test.zone'), `$TTL 60\n@ IN SOA ns.example.test. admin.example.test. 1 60 60 600 5\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\nshop 5 IN A 127.0.1.1\nshop 5 IN A 127.0.2.1\n`);
    writeFileSync(
      join(dir, 'named.conf'),
      `options {\n  directory "${dir}";\n  pid-file "${dir}/named.pid";\n  session-keyfile "${dir}/session.key";\n  managed-keys-directory "${dir}";\n  listen-on port ${port} { 127.0.0.1; };\n  listen-on-v6 { none; };\n  recursion no;\n  dnssec-validation no;\n};\ninclude "${dir}/tsig.key";\nzone "example.test" { type master; file "${dir}/example.test.zone"; allow-update { key "flotilla"; }; };\n`,
    );
    named = startDaemon({ name: 'named', command: 'named', dir, args: ['-g', '-c', `${dir}/named.conf`] });
    await waitFor(async () => (await dig()).length === 2, { what: 'named to serve the zone', timeoutMs: 10_000 });

    sim = await startSim({ names: ['dn-a', 'dn-b'], outDir: dir, bookmarkIntervalMs: 1000 });
    const configFile = writeFederation(join(dir, 'federation-dns.yaml'), ['dn-a', 'dn-b'], {
      health: { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '1s' },
      traffic: { dns: { server: `127.0.0.1:${port}`, zone: 'example.test', record: 'shop.example.test', tsigKeyFile: join(dir, 'tsig.key'), ttl: 5, members: { 'dn-a': ['127.0.1.1'], 'dn-b': ['127.0.2.1'] } } },
    });
    ({ proc: cm, url: apiUrl } = await startClusterMgr(configFile, {
      ready: async (url) => {
        const s = (await (await fetch(`${url}/api/state`).catch(() => undefined))?.json().catch(() => undefined)) as { clusters: { traffic: { weight: number } }[] } | undefined;
        return s?.clusters.every((c) => c.traffic.weight === 256);
      },
      what: 'cluster-mgr settled on the DNS switch',
    }));
  }, 60_000);

  afterAll(() => stopAfterClusterMgr(cm, named, sim), 30_000);

  it("a downed member's record disappears and returns after recovery; no update storm when steady", async (ctx) => {
    requireTools(ctx, TOOLS);
    // Steady: no update is re-sent every 250 ms pass — every RFC 2136 update bumps the SOA serial.
    const serial = async () => (await runOk('dig', ['@127.0.0.1', '-p', String(port), '+short', 'example.test', 'SOA'])).stdout.trim().split(/\s+/)[2];
    const before = await serial();
    await new Promise((r) => setTimeout(r, 1000)); // four daemon passes, to see that nothing is sent
    expect(await serial()).toBe(before);
    // And the daemon observes what it set (DNS reports the last weight set), so the plan issues no
    // update at all — with a fixed weight of 100 it would re-send an (idempotent) update every pass.
    const traffic = ((await (await fetch(`${apiUrl}/api/state`)).json()) as { clusters: { traffic: { state: string; weight: number } }[] }).clusters.map((c) => c.traffic);
    expect(traffic.map((t) => `${t.state}/${t.weight}`)).toEqual(['ready/256', 'ready/256']);

    await sim!.setFault('dn-a', 'down');
    try {
      const t0 = performance.now();
      await waitFor(async () => JSON.stringify(await dig()) === JSON.stringify(['127.0.2.1']), { what: "dn-a's A record removed", timeoutMs: 5000, intervalMs: 50 });
      console.log(`dns: dn-a removed from the record ${Math.round(performance.now() - t0)} ms after the fault`);
    } finally {
      await sim!.setFault('dn-a', 'none');
    }
    await waitFor(async () => (await dig()).length === 2, { what: "dn-a's A record back", timeoutMs: 20_000, intervalMs: 100 });
    expect(await dig()).toEqual(['127.0.1.1', '127.0.2.1']);
  }, 60_000);
});
