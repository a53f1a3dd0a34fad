// `flotilla install`'s first host step: the bootstrap registry on the first master. One probe over SSH
// (systemd or not, the binary, who holds the port, the current files), then — only when the port is
// free or held by the registry itself — its TLS files (signed by the site CA when given, else by a
// bootstrap CA made here whose key is thrown away), config and unit, and a (re)start when anything
// changed or it is not running. Hosts without systemd run the unit's ExecStart line detached (pid file).
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { BOOTSTRAP_UNIT, renderBootstrapConfig, renderBootstrapUnit, type BootstrapRegistry } from '../../infra/render/bootstrap-registry';
import { shq } from '../../infra/lib/shell';
import { waitFor } from '../lab/wait';
import { sha256Hex } from './bundle';
import { parseSha256sum } from './hosts';
import { fetchTrusting } from './https-fetch';
import type { SshPool } from './ssh';

const run = promisify(execFile);

export interface SiteCa {
  readonly cert: string;
  readonly key: string;
}

export interface TlsFiles {
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
}

/** The certificate when it parses and chains to the CA, else why not. */
function signedBy(certPem: string, caPem: string): X509Certificate | string {
  try {
    const cert = new X509Certificate(certPem);
    return cert.verify(new X509Certificate(caPem).publicKey) ? cert : 'not signed by the CA';
  } catch {
    return 'unreadable certificate';
  }
}

const expiresSoon = (cert: X509Certificate, now: Date) => new Date(cert.validTo).getTime() - now.getTime() < 30 * 86_400_000;

/** Why an existing certificate does not fit (undefined = it fits): CA, names, address, 30 days left. */
export function certificateProblem(certPem: string, caPem: string, host: string, address: string, now: Date = new Date()): string | undefined {
  const cert = signedBy(certPem, caPem);
  if (typeof cert === 'string') return cert;
  if (!cert.checkHost(host)) return `not valid for ${host}`;
  if (!cert.checkIP(address)) return `not valid for ${address}`;
  return expiresSoon(cert, now) ? `expires ${cert.validTo}` : undefined;
}

const samePem = (a: string, b: string) => a.replace(/\s+/g, '') === b.replace(/\s+/g, '');

/** A server certificate for the bootstrap registry or a front host's runtime API (openssl on the control machine; EC P-256). */
export async function issueCertificate(host: string, address: string, site: string, ca?: SiteCa, what = 'the bootstrap registry certificate'): Promise<TlsFiles> {
  return withOpenssl(what, ca, async (f, ec) => {
    if (!ca) {
      await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '3650', '-subj', `/CN=flotilla bootstrap registry CA (site ${site})`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    }
    return { subject: `/CN=${host}`, days: 825, ext: `subjectAltName=DNS:${host},IP:${address}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n` };
  });
}

/** The parts of a cert-manager Certificate spec a client certificate is made from (CLUSTER_MGR_FRONT_CLIENT_CERT). */
export interface ClientCertificateShape {
  readonly commonName: string;
  /** cert-manager usage names: `digital signature`, `key encipherment`, `client auth`, `server auth`. */
  readonly usages: readonly string[];
  readonly privateKey: { readonly algorithm: string; readonly size: number };
}

const KEY_USAGES: Readonly<Record<string, string>> = { 'digital signature': 'digitalSignature', 'key encipherment': 'keyEncipherment', 'key agreement': 'keyAgreement' };
const EXT_KEY_USAGES: Readonly<Record<string, string>> = { 'client auth': 'clientAuth', 'server auth': 'serverAuth' };
const EC_CURVES: Readonly<Record<number, string>> = { 256: 'prime256v1', 384: 'secp384r1' };

/** openssl `-extfile` lines for a client certificate of that shape (what cert-manager puts in its CSR). */
export function clientCertificateExtensions(shape: Pick<ClientCertificateShape, 'usages'>): string {
  const unknown = shape.usages.filter((u) => KEY_USAGES[u] === undefined && EXT_KEY_USAGES[u] === undefined);
  if (unknown.length > 0) throw new Error(`certificate usages ${unknown.join(', ')}: not supported here (use ${[...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].join(', ')})`);
  const ku = shape.usages.flatMap((u) => (KEY_USAGES[u] ? [KEY_USAGES[u]] : []));
  const eku = shape.usages.flatMap((u) => (EXT_KEY_USAGES[u] ? [EXT_KEY_USAGES[u]] : []));
  return [...(ku.length ? [`keyUsage=critical,${ku.join(',')}`] : []), ...(eku.length ? [`extendedKeyUsage=${eku.join(',')}`] : []), 'basicConstraints=critical,CA:FALSE', ''].join('\n');
}

/** A client certificate of `shape`, signed by the site CA, valid `days` (openssl on the control machine). */
export async function issueClientCertificate(shape: ClientCertificateShape, ca: SiteCa, days: number, what = `the client certificate ${shape.commonName}`): Promise<TlsFiles> {
  const curve = shape.privateKey.algorithm === 'ECDSA' ? EC_CURVES[shape.privateKey.size] : undefined;
  if (!curve) throw new Error(`${what}: private key ${shape.privateKey.algorithm} ${shape.privateKey.size} is not supported here (ECDSA 256 or 384)`);
  const ext = clientCertificateExtensions(shape);
  return withOpenssl(what, ca, async () => ({ subject: `/CN=${shape.commonName}`, days, ext }), ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-nodes']);
}

/** Why an existing client certificate does not fit (undefined = it fits): CA, CN, client auth, 30 days left. */
export function clientCertificateProblem(certPem: string, caPem: string, commonName: string, now: Date = new Date()): string | undefined {
  const cert = signedBy(certPem, caPem);
  if (typeof cert === 'string') return cert;
  if (!cert.subject.split('\n').includes(`CN=${commonName}`)) return `CN is not ${commonName}`;
  if (!(cert.keyUsage ?? []).includes('1.3.6.1.5.5.7.3.2')) return 'no client auth usage';
  return expiresSoon(cert, now) ? `expires ${cert.validTo}` : undefined;
}

/** openssl req arguments for a new unencrypted ECDSA P-256 key (leaf and throwaway CA alike). */
const EC_P256: readonly string[] = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A key and CSR made by openssl in a temp folder, signed by `ca` (or the CA `prepare` makes there):
 * `prepare` returns the subject, the days and the extension lines. The folder (with any key) is removed.
 */
async function withOpenssl(
  what: string,
  ca: SiteCa | undefined,
  prepare: (f: (n: string) => string, ec: string[]) => Promise<{ subject: string; days: number; ext: string }>,
  keyArgs: readonly string[] = EC_P256,
): Promise<TlsFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-tls-'));
  const f = (n: string) => join(dir, n);
  try {
    if (ca) {
      await writeFile(f('ca.crt'), ca.cert);
      await writeFile(f('ca.key'), ca.key, { mode: 0o600 });
    }
    const p = await prepare(f, [...EC_P256]);
    await run('openssl', ['req', '-new', ...keyArgs, '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', p.subject]);
    await writeFile(f('ext.cnf'), p.ext);
    await run('openssl', ['x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', String(p.days), '-extfile', f('ext.cnf'), '-out', f('tls.crt')]);
    return { caCert: await readFile(f('ca.crt'), 'utf8'), cert: await readFile(f('tls.crt'), 'utf8'), key: await readFile(f('tls.key'), 'utf8') };
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: string };
    if (e.code === 'ENOENT') throw new Error(`openssl is not installed on this machine: install it (Debian: apt-get install openssl) to issue ${what}`);
    throw new Error(`issuing ${what} failed: ${(e.stderr ?? e.message).trim().split('\n')[0]}${ca ? ' (check --ca-cert and --ca-key: they must be a matching CA pair)' : ''}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface HostProbe {
  readonly systemd: boolean;
  readonly binary: boolean;
  /** Pid of the running registry (systemd MainPID or the runner's pid file), 0 when not running. */
  readonly pid: number;
  readonly enabled: boolean;
  /** Listeners on the port: local address and the owning process (when ss shows it). */
  readonly listeners: { local: string; process?: string; pid?: number }[];
  readonly sums: Map<string, string>;
  readonly caCert: string;
  readonly cert: string;
}

/** The probe's shell script (sections on stdout). */
export function probeScript(b: BootstrapRegistry): string {
  const p = b.paths;
  return [
    `if [ -d /run/systemd/system ]; then echo systemd=yes; echo "pid=$(systemctl show -p MainPID --value ${BOOTSTRAP_UNIT} 2>/dev/null)"; echo "enabled=$(systemctl is-enabled ${BOOTSTRAP_UNIT} 2>/dev/null)";`,
    `else echo systemd=no; p=$(cat ${shq(p.pidFile)} 2>/dev/null); if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "pid=$p"; else echo pid=0; fi; fi`,
    `[ -x ${shq(b.binary)} ] && echo binary=yes || echo binary=no`,
    'echo @listeners',
    `ss -Hltnp ${shq(`sport = :${b.port}`)} 2>/dev/null || true`,
    'echo @sums',
    `for f in ${[p.unit, p.config, p.caCert, p.cert, p.key].map(shq).join(' ')}; do [ -f "$f" ] && sha256sum "$f"; done`,
    'echo @ca',
    `cat ${shq(p.caCert)} 2>/dev/null`,
    'echo @cert',
    `cat ${shq(p.cert)} 2>/dev/null`,
    'true',
  ].join('\n');
}

export function parseProbe(out: string): HostProbe {
  const sections = new Map<string, string[]>([['', []]]);
  let cur = '';
  for (const line of out.split('\n')) {
    const m = /^@(\w+)$/.exec(line);
    if (m) sections.set((cur = m[1]!), []);
    else sections.get(cur)!.push(line);
  }
  const kv = Object.fromEntries((sections.get('') ?? []).map((l) => l.split('=')).filter((x) => x.length >= 2).map(([k, ...v]) => [k, v.join('=')]));
  const listeners = (sections.get('listeners') ?? [])
    .filter((l) => l.trim())
    .map((l) => {
      const cols = l.trim().split(/\s+/);
      const u = /users:\(\("([^"]+)",pid=(\d+)/.exec(l);
      return { local: cols[3] ?? '', ...(u ? { process: u[1], pid: Number(u[2]) } : {}) };
    });
  return {
    systemd: kv.systemd === 'yes',
    binary: kv.binary === 'yes',
    pid: Number(kv.pid) || 0,
    enabled: kv.enabled === 'enabled',
    listeners,
    sums: parseSha256sum((sections.get('sums') ?? []).join('\n')),
    caCert: (sections.get('ca') ?? []).join('\n').trim(),
    cert: (sections.get('cert') ?? []).join('\n').trim(),
  };
}

/** Listeners that keep the registry from binding `address:port` (anything but the registry itself). */
export function portHolders(p: Pick<HostProbe, 'listeners' | 'pid'>, address: string): HostProbe['listeners'] {
  return p.listeners.filter((l) => {
    const host = l.local.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const overlaps = host === '*' || host === '0.0.0.0' || host === '::' || host === address;
    return overlaps && !(p.pid > 0 && l.pid === p.pid);
  });
}

export interface BootstrapReport {
  readonly node: string;
  readonly address: string;
  readonly url: string;
  readonly status: 'changed' | 'unchanged' | 'failed' | 'would change';
  /** Host paths written, plus `started`/`restarted` when the service was (re)started. */
  readonly changed: string[];
  readonly error?: string;
  /** The CA the nodes trust the registry with (PEM). */
  readonly caCert?: string;
  /** Where the control machine pushes to: the master's address. */
  readonly pushUrl: string;
}

export interface StartOptions {
  readonly dryRun?: boolean;
  readonly ca?: SiteCa;
  readonly log?: (line: string) => void;
  /** Readiness deadline after a (re)start. @default 30000 */
  readonly readyTimeoutMs?: number;
}

/** Probes, writes and (re)starts the bootstrap registry on its master; never touches another host. */
export async function startBootstrapRegistry(pool: SshPool, b: BootstrapRegistry, o: StartOptions = {}): Promise<BootstrapReport> {
  const { node } = b;
  const pushUrl = `https://${node.address}:${b.port}`;
  const base = { node: node.name, address: node.address, url: b.url, pushUrl };
  const fail = (error: string): BootstrapReport => ({ ...base, status: 'failed', changed: [], error });
  const log = o.log ?? (() => undefined);
  try {
    const pr = await pool.exec(node.address, probeScript(b));
    if (pr.code !== 0) return fail(`probing ${node.name} failed: ${pr.stderr.trim() || `exit ${pr.code}`}`);
    const probe = parseProbe(pr.stdout);
    if (!probe.binary) return fail(`${b.binary} is missing on ${node.name}: install Debian's docker-registry package there (apt-get install docker-registry; its .deb can travel with the bundle)`);
    const held = portHolders(probe, node.address);
    if (held.length > 0) {
      const who = held.map((h) => `${h.process ?? 'a process'}${h.pid ? ` (pid ${h.pid})` : ''} on ${h.local}`).join(', ');
      return fail(`port ${b.port} on ${node.name} (${node.address}) is taken by ${who}: stop it, or set spec.registry.bootstrapPort to a free port; nothing was changed`);
    }

    let tls: TlsFiles | undefined;
    const why = probe.cert && probe.caCert ? certificateProblem(probe.cert, probe.caCert, b.host, node.address) : 'none yet';
    const caMoved = o.ca !== undefined && probe.caCert !== '' && !samePem(o.ca.cert, probe.caCert);
    if (why !== undefined || caMoved || !probe.sums.has(b.paths.key)) {
      log(`${node.name}: issuing the bootstrap registry certificate (${caMoved ? 'the site CA changed' : why})`);
      tls = o.dryRun ? undefined : await issueCertificate(b.host, node.address, b.site, o.ca);
    }
    const files: { path: string; mode: string; data: string }[] = [
      { path: b.paths.config, mode: '0644', data: renderBootstrapConfig(b) },
      { path: b.paths.unit, mode: '0644', data: renderBootstrapUnit(b) },
      ...(tls
        ? [
            { path: b.paths.caCert, mode: '0644', data: tls.caCert },
            { path: b.paths.cert, mode: '0644', data: tls.cert },
            { path: b.paths.key, mode: '0600', data: tls.key },
          ]
        : []),
    ];
    const todo = files.filter((f) => probe.sums.get(f.path) !== sha256Hex(f.data));
    const needsCert = why !== undefined || caMoved;
    const running = probe.pid > 0;
    const changed = [...todo.map((t) => t.path), ...(needsCert && o.dryRun ? [b.paths.cert] : [])];
    const action = todo.length > 0 || needsCert ? (running ? 'restarted' : 'started') : running ? undefined : 'started';
    const enable = probe.systemd && !probe.enabled;
    if (!action && !enable) return { ...base, status: 'unchanged', changed: [], caCert: probe.caCert };
    if (o.dryRun) return { ...base, status: 'would change', changed: [...changed, ...(action ? [action] : [])], caCert: probe.caCert || undefined };

    for (const t of todo) {
      const tmp = `${t.path}.flotilla-tmp`;
      const r = await pool.exec(node.address, `umask 077; mkdir -p ${shq(posix.dirname(t.path))} && cat > ${shq(tmp)} && chmod ${t.mode} ${shq(tmp)} && mv -f ${shq(tmp)} ${shq(t.path)}`, { stdin: t.data });
      if (r.code !== 0) return fail(`writing ${t.path} on ${node.name} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    const p = b.paths;
    const start = probe.systemd
      ? `mkdir -p ${shq(p.data)} && systemctl daemon-reload && systemctl enable ${BOOTSTRAP_UNIT} >/dev/null 2>&1 && ${action ? `systemctl restart ${BOOTSTRAP_UNIT}` : 'true'}`
      : [
          'set -e',
          `mkdir -p ${shq(p.data)} ${shq(posix.dirname(p.log))} ${shq(posix.dirname(p.pidFile))}`,
          ...(running ? [`kill ${probe.pid} 2>/dev/null || true`, `i=0; while kill -0 ${probe.pid} 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done`] : []),
          `cmd=$(sed -n 's/^ExecStart=//p' ${shq(p.unit)})`,
          '[ -n "$cmd" ] || { echo "no ExecStart in the unit" >&2; exit 1; }',
          `nohup setsid sh -c "exec $cmd" </dev/null >>${shq(p.log)} 2>&1 &`,
          `echo $! > ${shq(p.pidFile)}`,
        ].join('\n');
    const s = await pool.exec(node.address, start);
    if (s.code !== 0) return fail(`starting ${BOOTSTRAP_UNIT} on ${node.name} failed: ${s.stderr.trim() || `exit ${s.code}`}`);
    const caCert = tls?.caCert ?? probe.caCert;
    const get = fetchTrusting(caCert);
    const ready = await waitFor(async () => (await get(`${pushUrl}/v2/`, { signal: AbortSignal.timeout(2000) })).status === 200, {
      timeoutMs: o.readyTimeoutMs ?? 30_000,
      intervalMs: 200,
    }).catch(() => false);
    if (!ready) {
      const tail = await pool.exec(node.address, probe.systemd ? `journalctl -u ${BOOTSTRAP_UNIT} -n 5 --no-pager 2>&1` : `tail -n 5 ${shq(p.log)} 2>&1`);
      return fail(`${BOOTSTRAP_UNIT} on ${node.name} did not answer on ${pushUrl}/v2/ within ${Math.round((o.readyTimeoutMs ?? 30_000) / 1000)} s: ${tail.stdout.trim().split('\n').slice(-2).join(' | ') || 'no log'}`);
    }
    log(`${node.name}: bootstrap registry ${action ?? 'enabled'} on ${pushUrl}`);
    return { ...base, status: 'changed', changed: [...todo.map((t) => t.path), ...(action ? [action] : ['enabled'])], caCert };
  } catch (err) {
    return fail((err as Error).message);
  }
}
