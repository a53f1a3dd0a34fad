// `flotilla install` on the site-level hosts: the front hosts' runtime API TLS files and cluster-mgr's
// client certificate for them on the ops host (issued from the site CA, reused while they fit), and
// what the ops host still needs from `pulumi up` (cluster-mgr's secrets). Their rendered files
// themselves go through configureHost like every node's; the daemon itself comes from ops-binary.ts.
import { HOST_PATHS, type HostFileDestination, type HostService } from '../../infra/lib/host-files';
import { shq } from '../../infra/lib/shell';
import type { Site } from '../../infra/site/index';
import type { SiteHost } from '../../infra/site/hosts';
import { certificateProblem, clientCertificateProblem, issueCertificate, issueClientCertificate, type SiteCa } from './bootstrap';
import { CLUSTER_MGR_FRONT_CLIENT_CERT, CLUSTER_MGR_FRONT_TLS } from '../../infra/lib/cluster-mgr-rbac';
import type { SshPool } from './ssh';

export interface ExtraFile {
  readonly dest: string;
  readonly mode: string;
  readonly data: Buffer;
  /** Service restarted once after it changed. @default - none */
  readonly restart?: HostService;
  /** The daemon's check of the new file (its temp copy) before it replaces the old one. @default - none */
  readonly check?: HostFileDestination['check'];
  /** Renamed into place before the rendered configs are checked (what they refer to: CA, TLS). @default true */
  readonly early?: boolean;
}

const samePem = (a: string, b: string) => a.replace(/\s+/g, '') === b.replace(/\s+/g, '');

/**
 * The TLS files a host has now, from a probe script that prints three sections: `@cert` (a
 * certificate), `@key` (`yes` when the private key is there) and `@ca` (the CA certificate). Both
 * probes below print this shape: a front host's runtime API files, cluster-mgr's client certificate
 * on the ops host.
 */
export function parseTlsProbe(out: string): { cert: string; hasKey: boolean; ca: string } {
  const [cert = '', key = '', ca = ''] = out.split(/^@\w+$/m).slice(1);
  return { cert: cert.trim(), hasKey: key.trim() === 'yes', ca: ca.trim() };
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
      `grep -q 'PRIVATE KEY-----' ${shq(server)} 2>/dev/null && echo yes`,
      'echo @ca',
      `cat ${shq(clientCaPath)} 2>/dev/null; true`,
    ].join('\n'),
  );
  if (pr.code !== 0) return { error: `probing the runtime API certificate failed: ${pr.stderr.trim() || `exit ${pr.code}`}` };
  const now = parseTlsProbe(pr.stdout);
  if (!ca) {
    if (now.cert && now.hasKey && now.ca) return { files: [] };
    return {
      error: `${HOST_PATHS.frontRuntimeApiCert} or ${HOST_PATHS.frontRuntimeApiClientCa} is missing on ${host.name}: pass --ca-cert/--ca-key (the site CA: install issues the runtime API certificate for ${host.address} and trusts the CA for cluster-mgr's client certificate), or put the certificate + key (IP SAN ${host.address}) and the client CA there; nothing was changed on this host`,
    };
  }
  const files: ExtraFile[] = [];
  if (!now.cert || !now.hasKey || certificateProblem(now.cert, ca.cert, host.name, host.address) !== undefined) {
    const tls = await issueCertificate(host.name, host.address, site, ca, `the runtime API certificate of ${host.name}`);
    files.push({ dest: server, mode: '0600', data: Buffer.from(`${tls.cert.trimEnd()}\n${tls.key.trimEnd()}\n`) });
  }
  if (!samePem(now.ca, ca.cert)) files.push({ dest: clientCaPath, mode: '0644', data: Buffer.from(`${ca.cert.trimEnd()}\n`) });
  return { files };
}

/**
 * cluster-mgr's client certificate for the front hosts' runtime API on the ops host
 * (`/etc/cluster-mgr/front-tls/{ca.crt,tls.crt,tls.key}`, the files the synthesized config reads):
 * with the site CA (`--ca-cert`/`--ca-key`, the CA the front hosts trust) issued from it in the shape
 * the host cluster's cert-manager Certificate has (CN = spec.front.runtimeApi.clientName), unless the
 * host's fits (signed by it, that CN, client auth, 30+ days left); the key 0640 (group cluster-mgr:
 * the unit's restart script sets it). Without the site CA the host keeps what it has, and a note says
 * what is missing. Nothing without spec.front.
 */
export async function opsFrontTlsFiles(pool: SshPool, host: SiteHost, at: (p: string) => string, site: Site, ca?: SiteCa): Promise<{ files: ExtraFile[]; notes: string[] } | { error: string }> {
  const front = site.spec.front;
  if (!front) return { files: [], notes: [] };
  const t = CLUSTER_MGR_FRONT_TLS;
  const path = (k: string) => `${t.dir}/${k}`;
  const pr = await pool.exec(
    host.address,
    ['echo @cert', `cat ${shq(at(path(t.cert)))} 2>/dev/null`, 'echo @key', `[ -s ${shq(at(path(t.key)))} ] && echo yes`, 'echo @ca', `cat ${shq(at(path(t.ca)))} 2>/dev/null; true`].join('\n'),
  );
  if (pr.code !== 0) return { error: `probing cluster-mgr's front client certificate failed: ${pr.stderr.trim() || `exit ${pr.code}`}` };
  const now = parseTlsProbe(pr.stdout);
  const cn = front.runtimeApi.clientName;
  if (!ca) {
    if (now.cert && now.hasKey && now.ca) return { files: [], notes: [] };
    return {
      files: [],
      notes: [
        `${[t.ca, t.cert, t.key].map(path).join(', ')} missing: pass --ca-cert/--ca-key (the site CA the front hosts trust: install issues cluster-mgr's client certificate, CN ${cn}) or put them there; until then cluster-mgr reports the front hosts' runtime API unreachable`,
      ],
    };
  }
  const files: ExtraFile[] = [];
  const restart = { restart: 'cluster-mgr' as const };
  if (!now.cert || !now.hasKey || clientCertificateProblem(now.cert, ca.cert, cn) !== undefined) {
    const c = CLUSTER_MGR_FRONT_CLIENT_CERT;
    const tls = await issueClientCertificate({ commonName: cn, usages: c.usages, privateKey: c.privateKey }, ca, c.installDays, `cluster-mgr's client certificate for the front hosts (${host.name})`);
    files.push({ dest: at(path(t.cert)), mode: '0644', data: Buffer.from(`${tls.cert.trimEnd()}\n`), ...restart }, { dest: at(path(t.key)), mode: '0640', data: Buffer.from(`${tls.key.trimEnd()}\n`), ...restart });
  }
  if (!samePem(now.ca, ca.cert)) files.push({ dest: at(path(t.ca)), mode: '0644', data: Buffer.from(`${ca.cert.trimEnd()}\n`), ...restart });
  return { files, notes: [] };
}

/** The files cluster-mgr's unit needs that install does not write: `pulumi up`'s secrets, and the binary when the bundle has no built image. */
export function opsHostNeeds(site: Site, o: { binaryFromBundle?: boolean } = {}): { path: string; from: string }[] {
  return [
    { path: `${HOST_PATHS.clusterMgrDir}/api-token.env`, from: 'pulumi up (the generated API token)' },
    ...site.spec.clusters.map((c) => ({ path: `${HOST_PATHS.clusterMgrDir}/kubeconfigs/${c.name}.yaml`, from: `pulumi up (member ${c.name}'s kubeconfig)` })),
    ...(o.binaryFromBundle ? [] : [{ path: HOST_PATHS.clusterMgrBinary, from: 'the operator (the bundle has no built cluster-mgr image: see docs/cluster-mgr.md, "systemd")' }]),
  ];
}

/** One note per provider listing what is still missing on the ops host (empty when nothing is). */
export async function opsHostNotes(pool: SshPool, host: SiteHost, at: (p: string) => string, site: Site, o: { binaryFromBundle?: boolean } = {}): Promise<string[]> {
  const needs = opsHostNeeds(site, o);
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
