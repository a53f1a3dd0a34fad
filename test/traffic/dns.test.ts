// DnsSwitch against a real BIND 9: a zone allowing RFC 2136 updates with a TSIG key from
// tsig-keygen; the member's A record disappears on drain and comes back on restore (checked with dig).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsSwitch, DnsUpdateError, updateScript } from '../../cluster-mgr/adapters/dns';
import { freePort, isCI, makeDir, missingTools, requireTools, runOk, startDaemon, waitFor, type Daemon } from '../lab/index';
import { namedOptions } from '../lab/named';

const TOOLS = ['named', 'nsupdate', 'dig', 'tsig-keygen'];
const available = missingTools(TOOLS).length === 0;

describe('DNS traffic switch (RFC 2136 + TSIG)', () => {
  let dir: string;
  let port: number;
  let named: Daemon | undefined;

  const dig = async () => {
    const r = await runOk('dig', ['@127.0.0.1', '-p', String(port), '+short', '+norecurse', 'shop.example.test', 'A']);
    return r.stdout.trim().split('\n').filter(Boolean).sort();
  };

  beforeAll(async () => {
    if (!available && !isCI()) return;
    dir = makeDir('named');
    port = await freePort();
    const key = await runOk('tsig-keygen', ['-a', 'hmac-sha256', 'flotilla']);
    writeFileSync(join(dir, 'tsig.key'), key.stdout, { mode: 0o600 });
    writeFileSync(
      join(dir, 'example.test.zone'),
      `$TTL 60
@      IN SOA ns.example.test. admin.example.test. 1 60 60 600 5
@      IN NS  ns.example.test.
ns     IN A   127.0.0.1
shop 5 IN A   127.0.1.1
shop 5 IN A   127.0.1.2
shop 5 IN A   127.0.2.1
`,
    );
    writeFileSync(
      join(dir, 'named.conf'),
      `${namedOptions(dir, port)}include "${dir}/tsig.key";
zone "example.test" { type master; file "${dir}/example.test.zone"; allow-update { key "flotilla"; }; };
`,
    );
    named = startDaemon({ name: 'named', command: 'named', dir, args: ['-g', '-c', `${dir}/named.conf`] });
    await waitFor(async () => (await dig()).length === 3, { what: 'named to serve the zone', timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await named?.stop();
  });

  it('removes the member A records on drain and restores them on ready', async (ctx) => {
    requireTools(ctx, TOOLS);
    const sw = new DnsSwitch({
      server: `127.0.0.1:${port}`,
      zone: 'example.test',
      record: 'shop.example.test',
      tsigKeyFile: join(dir, 'tsig.key'),
      members: { 'bj1-a': ['127.0.1.1', '127.0.1.2'], 'sh1-a': ['127.0.2.1'] },
      ttl: 5,
    });
    expect(await sw.observe()).toEqual({ 'bj1-a': { state: 'ready', weight: 100 }, 'sh1-a': { state: 'ready', weight: 100 } });

    await sw.set('bj1-a', 'drain');
    expect(await dig()).toEqual(['127.0.2.1']);
    expect((await sw.observe())['bj1-a']).toEqual({ state: 'drain', weight: 0 });

    await sw.set('bj1-a', 'ready', 25);
    expect(await dig()).toEqual(['127.0.1.1', '127.0.1.2', '127.0.2.1']);
    // Restored with the low TTL.
    const ttl = await runOk('dig', ['@127.0.0.1', '-p', String(port), '+noall', '+answer', 'shop.example.test', 'A']);
    expect(ttl.stdout).toMatch(/shop\.example\.test\.\s+5\s+IN\s+A\s+127\.0\.1\.1/);

    // Weight 0 also takes the member out.
    await sw.set('sh1-a', 'ready', 0);
    expect(await dig()).toEqual(['127.0.1.1', '127.0.1.2']);
    await sw.set('sh1-a', 'ready');
  });

  it('an update signed with the wrong key is refused and reported', async (ctx) => {
    requireTools(ctx, TOOLS);
    const wrong = await runOk('tsig-keygen', ['-a', 'hmac-sha256', 'flotilla']);
    writeFileSync(join(dir, 'wrong.key'), wrong.stdout, { mode: 0o600 });
    const sw = new DnsSwitch({ server: `127.0.0.1:${port}`, zone: 'example.test', record: 'shop.example.test', tsigKeyFile: join(dir, 'wrong.key'), members: { 'bj1-a': ['127.0.1.1'] } });
    const err = await sw.set('bj1-a', 'drain').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsUpdateError);
    expect((err as Error).message).toMatch(/nsupdate for bj1-a \(delete shop\.example\.test\) failed/);
    expect((err as Error).message).not.toContain(wrong.stdout.match(/secret "([^"]+)"/)![1]);
    expect(await dig()).toContain('127.0.1.1');
  });
});

describe('DNS switch input checks', () => {
  it('renders the nsupdate script', () => {
    expect(updateScript({ server: '127.0.0.1:5353', zone: 'example.test', record: 'shop.example.test', ttl: 5 }, ['127.0.1.1'], true)).toBe(
      'server 127.0.0.1 5353\nzone example.test.\nupdate add shop.example.test. 5 IN A 127.0.1.1\nsend\n',
    );
    expect(updateScript({ server: 'ns1', zone: 'example.test', record: 'shop.example.test' }, ['127.0.1.1'], false)).toContain('server ns1 53\nzone example.test.\nupdate delete shop.example.test. IN A 127.0.1.1');
  });
  it('names field, value and fix', () => {
    expect(() => new DnsSwitch({ server: 'x', zone: 'example.test', record: 'shop.other.test', tsigKeyFile: 'k', members: { a: ['300.1.1.1'] } })).toThrow(
      /traffic\.dns\.record: shop\.other\.test is not inside zone example\.test; traffic\.dns\.members\.a: "300\.1\.1\.1" is not an IPv4 address/,
    );
  });
});
