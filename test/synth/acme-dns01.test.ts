// ACME DNS-01 over RFC 2136, end to end against a real BIND 9 with TSIG. The sh1 example (which uses
// rfc2136) is pointed at a named on loopback and synthesized; its ClusterIssuer must pass the
// cert-manager CRD schema, and its settings (nameserver, key name, algorithm) plus the value the
// Pulumi program puts into the synthesized TSIG Secret (from flotilla:tsigKey, a tsig-keygen file)
// drive exactly what cert-manager's RFC 2136 solver does: find the zone by SOA, add the
// `_acme-challenge` TXT record (TTL 60) with a TSIG-signed dynamic update, read it back through
// node:dns, remove the one value. A wrong TSIG secret is refused, and so is any other record (the
// zone grants the key only the challenge TXT record).
import { readFileSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { BIND_TSIG_ALGORITHM, challengeRecord, selectSolver, tsigSecretOf, type TsigAlgorithm } from '../../infra/lib/acme';
import { planSecrets, type SecretRef } from '../../infra/pulumi/plan';
import { parseSite, formatError, type Site } from '../../infra/site/index';
import { synthesizeCluster } from '../../infra/synth/index';
import type { K8sObject } from '../../infra/synth/types';
import { freePort, isCI, makeDir, missingTools, requireTools, run, runOk, startDaemon, waitFor, type Daemon } from '../lab/index';
import { namedOptions } from '../lab/named';
import { ManifestValidator, SHARED_DIR } from '../schema/validator';

const TOOLS = ['named', 'named-checkconf', 'nsupdate', 'dig', 'tsig-keygen'];
const available = missingTools(TOOLS).length === 0;

interface Rfc2136 {
  nameserver: string;
  tsigKeyName: string;
  tsigAlgorithm: TsigAlgorithm;
  tsigSecretSecretRef: { name: string; key: string };
}
interface Solver {
  selector?: { dnsZones?: string[]; dnsNames?: string[] };
  dns01?: { rfc2136?: Rfc2136 };
  http01?: unknown;
}

/** The sh1 example with its RFC 2136 nameserver moved to `nameserver`. */
function sh1With(nameserver: string): Site {
  const doc = parseDocument(readFileSync('examples/sh1.yaml', 'utf8'));
  doc.setIn(['spec', 'certificates', 'dns01', 'rfc2136', 'nameserver'], nameserver);
  const r = parseSite(doc.toString(), 'sh1.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
  return r.value;
}

/** What cert-manager's RFC 2136 provider is configured with, read from the synthesized objects. */
interface SolverSettings {
  readonly issuer: K8sObject;
  readonly solvers: Solver[];
  readonly rfc2136: Rfc2136;
  readonly secret: string;
  readonly wildcardNames: string[];
}

/** Synthesizes the site's first cluster and resolves the TSIG Secret the way the Pulumi program fills it. */
function synthesizedSolver(site: Site, tsigKey: string): SolverSettings {
  const synth = synthesizeCluster(site, site.spec.clusters[0]!);
  const objects = synth.components.flatMap((c) => c.objects);
  const issuer = objects.find((o) => o.kind === 'ClusterIssuer' && o.metadata.name === 'site-issuer')!;
  const solvers = (issuer.spec as { acme: { solvers: Solver[] } }).acme.solvers;
  const cert = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'site-wildcard')!;
  const wildcardNames = (cert.spec as { dnsNames: string[] }).dnsNames;
  // The solver cert-manager picks for the wildcard name.
  const chosen = solvers[selectSolver(`*.${site.spec.domain}`, solvers.map((s) => ({ type: s.dns01 ? ('dns01' as const) : ('http01' as const), ...(s.selector ? { selector: s.selector } : {}) })))!]!;
  const rfc2136 = chosen.dns01!.rfc2136!;
  const plan = planSecrets(site, synth, { tsigKey }).find((p) => p.name === rfc2136.tsigSecretSecretRef.name && p.namespace === 'cert-manager');
  if (!plan) throw new Error(`no secret plan fills ${rfc2136.tsigSecretSecretRef.name}`);
  const ref: SecretRef | undefined = plan.stringData[rfc2136.tsigSecretSecretRef.key];
  // infra/pulumi/program.ts: values.tsigSecret = tsigSecretOf(flotilla:tsigKey)
  const values: Partial<Record<SecretRef['from'], string>> = { tsigKey, tsigSecret: tsigSecretOf(tsigKey) };
  const secret = ref === undefined ? undefined : ref.from === 'literal' ? ref.value : values[ref.from];
  if (secret === undefined) throw new Error(`no value for ${rfc2136.tsigSecretSecretRef.key}`);
  return { issuer, solvers, rfc2136, secret, wildcardNames };
}

/** named.conf for `zone` on loopback: the TSIG key, and updates granted only for the challenge TXT record. */
function renderNamedConf(dir: string, port: number, zone: string, key: { name: string; algorithm: TsigAlgorithm; secret: string }): string {
  return `${namedOptions(dir, port)}key "${key.name}" { algorithm ${BIND_TSIG_ALGORITHM[key.algorithm]}; secret "${key.secret}"; };
zone "${zone}" {
  type primary;
  file "${dir}/${zone}.zone";
  update-policy { grant "${key.name}" name ${challengeRecord(zone)}. TXT; };
};
`;
}

/** One RFC 2136 update as cert-manager's provider sends it (INSERT: add the RR; REMOVE: delete that RR), signed with TSIG. */
function solverUpdate(s: { nameserver: string; zone: string; keyName: string; algorithm: TsigAlgorithm; secret: string }, action: 'INSERT' | 'REMOVE', fqdn: string, value: string): Promise<{ code: number | null; stderr: string }> {
  const [host, port] = s.nameserver.split(':');
  const rr = action === 'INSERT' ? `update add ${fqdn}. 60 IN TXT "${value}"` : `update delete ${fqdn}. IN TXT "${value}"`;
  // The key goes in on stdin, never on the command line.
  const script = `server ${host} ${port}\nzone ${s.zone}.\nkey ${BIND_TSIG_ALGORITHM[s.algorithm]}:${s.keyName} ${s.secret}\n${rr}\nsend\n`;
  return run('nsupdate', [], { input: script, timeoutMs: 10_000 }).then((r) => ({ code: r.code, stderr: r.stderr }));
}

describe('ACME DNS-01 with RFC 2136 + TSIG against a real BIND 9', () => {
  let dir: string;
  let port: number;
  let named: Daemon | undefined;
  let tsigKeyFile: string;
  let site: Site;
  let solver: SolverSettings;
  let resolver: Resolver;
  const zone = 'sh1.example.com';

  const txt = async (name: string): Promise<string[]> => {
    try {
      return (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')).sort();
    } catch (e) {
      if ((e as { code?: string }).code === 'ENODATA' || (e as { code?: string }).code === 'ENOTFOUND') return [];
      throw e;
    }
  };
  /** cert-manager's FindZoneByFqdn: the closest enclosing name that has an SOA (asked of the solver's nameserver). */
  const findZone = async (fqdn: string): Promise<string | undefined> => {
    const labels = fqdn.split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const candidate = labels.slice(i).join('.');
      try {
        await resolver.resolveSoa(candidate);
        return candidate;
      } catch {
        // not a zone apex: try the parent
      }
    }
    return undefined;
  };
  const settings = () => ({ nameserver: solver.rfc2136.nameserver, zone, keyName: solver.rfc2136.tsigKeyName, algorithm: solver.rfc2136.tsigAlgorithm, secret: solver.secret });

  beforeAll(async () => {
    if (!available && !isCI()) return;
    dir = makeDir('acme-named');
    port = await freePort();
    site = sh1With(`127.0.0.1:${port}`);
    const keyName = site.spec.certificates.dns01!.rfc2136!.tsigKeyName;
    // The stack secret flotilla:tsigKey, as `tsig-keygen -a hmac-sha256 acme-sh1 | pulumi config set --secret flotilla:tsigKey` stores it.
    tsigKeyFile = (await runOk('tsig-keygen', ['-a', 'hmac-sha256', keyName])).stdout;
    solver = synthesizedSolver(site, tsigKeyFile);
    writeFileSync(join(dir, `${zone}.zone`), `$TTL 60\n@ IN SOA ns.${zone}. admin.${zone}. 1 60 60 600 5\n@ IN NS ns.${zone}.\nns IN A 127.0.0.1\n`);
    // The server side holds the same key material (name, algorithm, secret) the synthesized Secret holds.
    writeFileSync(join(dir, 'named.conf'), renderNamedConf(dir, port, zone, { name: solver.rfc2136.tsigKeyName, algorithm: solver.rfc2136.tsigAlgorithm, secret: solver.secret }), { mode: 0o600 });
    await runOk('named-checkconf', ['-z', join(dir, 'named.conf')]);
    named = startDaemon({ name: 'named', command: 'named', dir, args: ['-g', '-c', `${dir}/named.conf`] });
    resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    await waitFor(async () => (await findZone(zone)) === zone, { what: 'named to serve the zone', timeoutMs: 15_000 });
  }, 30_000);

  afterAll(async () => {
    await named?.stop();
  });

  it('the synthesized ClusterIssuer passes the cert-manager CRD schema and sends the wildcard to this RFC 2136 solver', (ctx) => {
    requireTools(ctx, TOOLS);
    expect(new ManifestValidator([join(SHARED_DIR, 'crds', 'cert-manager')]).validate(solver.issuer).errors).toEqual([]);
    expect(solver.wildcardNames).toEqual([zone, `*.${zone}`]);
    expect(solver.rfc2136).toEqual({ nameserver: `127.0.0.1:${port}`, tsigKeyName: 'acme-sh1', tsigAlgorithm: 'HMACSHA256', tsigSecretSecretRef: { name: 'site-issuer-tsig', key: 'tsig-secret' } });
    // The Secret holds the base64 secret alone (what cert-manager reads), taken from the key file.
    expect(tsigKeyFile).toContain(`secret "${solver.secret}"`);
    expect(solver.secret).toMatch(/^[A-Za-z0-9+/]{40,}={0,2}$/);
  });

  it('adds the _acme-challenge TXT record with TSIG, reads it back, removes it', async (ctx) => {
    requireTools(ctx, TOOLS);
    const record = challengeRecord(`*.${zone}`);
    expect(record).toBe(`_acme-challenge.${zone}`);
    expect(await findZone(record)).toBe(zone);
    expect(await txt(record)).toEqual([]);
    // One challenge per certificate name; both land on the same record.
    for (const [name, token] of [[zone, 'token-apex-1'], [`*.${zone}`, 'token-wildcard-2']] as const) {
      const r = await solverUpdate(settings(), 'INSERT', challengeRecord(name), token);
      expect(r, r.stderr).toMatchObject({ code: 0 });
    }
    expect(await txt(record)).toEqual(['token-apex-1', 'token-wildcard-2']);
    const ttl = await runOk('dig', ['@127.0.0.1', '-p', String(port), '+noall', '+answer', record, 'TXT']);
    expect(ttl.stdout).toMatch(new RegExp(`^_acme-challenge\\.sh1\\.example\\.com\\.\\s+60\\s+IN\\s+TXT\\s+"token-apex-1"`, 'm'));
    // CleanUp removes its own value only.
    expect((await solverUpdate(settings(), 'REMOVE', record, 'token-apex-1')).code).toBe(0);
    expect(await txt(record)).toEqual(['token-wildcard-2']);
    expect((await solverUpdate(settings(), 'REMOVE', record, 'token-wildcard-2')).code).toBe(0);
    expect(await txt(record)).toEqual([]);
  });

  it('a wrong TSIG secret, an unknown key name and any record besides the challenge are refused', async (ctx) => {
    requireTools(ctx, TOOLS);
    const record = challengeRecord(zone);
    const wrongKey = (await runOk('tsig-keygen', ['-a', 'hmac-sha256', solver.rfc2136.tsigKeyName])).stdout;
    const wrongSecret = synthesizedSolver(site, wrongKey).secret;
    expect(wrongSecret).not.toBe(solver.secret);
    const bad = await solverUpdate({ ...settings(), secret: wrongSecret }, 'INSERT', record, 'token-forged');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/tsig verify failure|BADSIG|NOTAUTH|BADKEY/i);
    const unknown = await solverUpdate({ ...settings(), keyName: 'someone-else' }, 'INSERT', record, 'token-forged');
    expect(unknown.code).not.toBe(0);
    const other = await solverUpdate(settings(), 'INSERT', `www.${zone}`, 'x');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/REFUSED/);
    expect(await txt(record)).toEqual([]);
    expect(await txt(`www.${zone}`)).toEqual([]);
  });
});
