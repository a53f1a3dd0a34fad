// `flotilla install` on the site-level hosts: the front hosts' runtime API TLS files (issued from the
// site CA, reused while they fit) and what the ops host still needs from `pulumi up` (cluster-mgr's
// secrets). Their rendered files themselves go through configureHost like every node's.
import { HOST_PATHS } from '../../infra/lib/host-files';
import { shq } from '../../infra/lib/shell';
import type { Site } from '../../infra/site/index';
import type { SiteHost } from '../../infra/site/hosts';
import { certificateProblem, issueCertificate, type SiteCa } from './bootstrap';
import type { SshPool } from './ssh';

export interface ExtraFile {
  readonly dest: string;
  readonly mode: string;
  readonly data: Buffer;
}

const samePem = (a: string, b: string) => a.replace(/\s+/g, '') === b.replace(/\s+/g, '');

/** What a front host has now: the first certificate of server.pem, whether it holds a key, client-ca.pem. */
export function parseFrontTlsProbe(out: string): { cert: string; hasKey: boolean; clientCa: string } {
  const [cert = '', key = '', ca = ''] = out.split(/^@\w+$/m).slice(1);
  return { cert: cert.trim(), hasKey: Number(key.trim()) > 0, clientCa: ca.trim() };
}

/**
 * The runtime API TLS files of a front host (`server.pem` = certificate + key, IP SAN = the host's
 * address; `client-ca.pem` = the CA that signs cluster-mgr's client certificate): with the site CA
 * (`--ca-cert`/`--ca-key`) issued from it unless the host's fit (signed by it, names the host and its
 * address, 30+ days left); without it the host must have both already. Returns the files to write
 * (possibly none) or why the host cannot be installed.
 */
export async function frontTlsFiles(pool: SshPool, host: SiteHost, at: (p: string) => string, site: string, ca?: SiteCa): Promise<{ files: ExtraFile[] } | { error: string }> {
  const server = at(HOST_PATHS.frontRuntimeApiCert);
  const clientCaPath = at(HOST_PATHS.frontRuntimeApiClientCa);
  const pr = await pool.exec(
    host.address,
    [
      'echo @cert',
      `sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' ${shq(server)} 2>/dev/null | sed '/-----END CERTIFICATE-----/q'`,
      'echo @key',
      `grep -c 'PRIVATE KEY-----' ${shq(server)} 2>/dev/null || true`,
      'echo @ca',
      `cat ${shq(clientCaPath)} 2>/dev/null; true`,
    ].join('\n'),
  );
  if (pr.code !== 0) return { error: `probing the runtime API certificate failed: ${pr.stderr.trim() || `exit ${pr.code}`}` };
  const now = parseFrontTlsProbe(pr.stdout);
  if (!ca) {
    if (now.cert && now.hasKey && now.clientCa) return { files: [] };
    return {
      error: `${HOST_PATHS.frontRuntimeApiCert} or ${HOST_PATHS.frontRuntimeApiClientCa} is missing on ${host.name}: pass --ca-cert/--ca-key (the site CA: install issues the runtime API certificate for ${host.address} and trusts the CA for cluster-mgr's client certificate), or put the certificate + key (IP SAN ${host.address}) and the client CA there; nothing was changed on this host`,
    };
  }
  const files: ExtraFile[] = [];
  if (!now.cert || !now.hasKey || certificateProblem(now.cert, ca.cert, host.name, host.address) !== undefined) {
    const tls = await issueCertificate(host.name, host.address, site, ca, `the runtime API certificate of ${host.name}`);
    files.push({ dest: server, mode: '0600', data: Buffer.from(`${tls.cert.trimEnd()}\n${tls.key.trimEnd()}\n`) });
  }
  if (!samePem(now.clientCa, ca.cert)) files.push({ dest: clientCaPath, mode: '0644', data: Buffer.from(`${ca.cert.trimEnd()}\n`) });
  return { files };
}

/** The files cluster-mgr's unit needs that install does not write: `pulumi up`'s secrets and the binary. */
export function opsHostNeeds(site: Site): { path: string; from: string }[] {
  return [
    { path: `${HOST_PATHS.clusterMgrDir}/api-token.env`, from: 'pulumi up (the generated API token)' },
    ...site.spec.clusters.map((c) => ({ path: `${HOST_PATHS.clusterMgrDir}/kubeconfigs/${c.name}.yaml`, from: `pulumi up (member ${c.name}'s kubeconfig)` })),
    { path: HOST_PATHS.clusterMgrBinary, from: 'the operator (the cluster-mgr daemon; not in the bundle)' },
  ];
}

/** One note per provider listing what is still missing on the ops host (empty when nothing is). */
export async function opsHostNotes(pool: SshPool, host: SiteHost, at: (p: string) => string, site: Site): Promise<string[]> {
  const needs = opsHostNeeds(site);
  const r = await pool.exec(host.address, needs.map((n) => `[ -s ${shq(at(n.path))} ] || echo ${shq(n.path)}`).join('\n'));
  if (r.code !== 0 && !r.stdout.trim()) return [`could not check cluster-mgr's secrets: ${r.stderr.trim() || `exit ${r.code}`}`];
  const missing = new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  const by = new Map<string, string[]>();
  for (const n of needs.filter((x) => missing.has(x.path))) {
    const who = n.from.startsWith('pulumi up') ? 'pulumi up (its host layer, from the stack secrets)' : n.from;
    by.set(who, [...(by.get(who) ?? []), n.path]);
  }
  if (by.size === 0) return [];
  return [`cluster-mgr.service starts once these exist (install does not invent them): ${[...by].map(([who, paths]) => `${paths.join(', ')} from ${who}`).join('; ')}`];
}
