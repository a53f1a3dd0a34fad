// Preflight: one probe script per host over SSH (sectioned output), parsed into facts, then pure
// checks, each with an id, a severity and a fix hint. Cross-host checks (unique hostnames, MTU)
// run over all facts.
import { DNS1123_LABEL } from '../../infra/lib/dns';
import { type Role, type Site, type SiteNode } from '../../infra/site/index';
import { siteHosts, type SiteHost } from '../../infra/site/hosts';
import { DEFAULT_FRONT_HEALTH_PORT, frontInputFromSite } from '../../infra/render/index';
import { shq } from '../../infra/lib/shell';
import type { SshPool } from './ssh';

export type Severity = 'pass' | 'warn' | 'fail' | 'skip';
export interface PreflightCheck {
  readonly id: string;
  readonly severity: Severity;
  readonly message: string;
  /** How to fix it (empty on pass). */
  readonly fix?: string;
}

export type Reach = 'open' | 'refused' | 'timeout';
export interface HostFacts {
  readonly osId: string;
  readonly osPretty: string;
  readonly kernel: string;
  readonly arch: string;
  readonly cpus: number;
  readonly memKiB: number;
  readonly diskFreeKiB: number;
  readonly swaps: number;
  readonly modules: Record<string, boolean>;
  readonly sysctls: Record<string, string | undefined>;
  readonly hostname: string;
  readonly listening: number[];
  readonly tools: Record<string, boolean>;
  readonly containerd?: string;
  readonly mtu?: number;
  readonly iface?: string;
  readonly reach: Record<string, Reach>;
  /** Remote clock minus local clock at the midpoint of the round trip. */
  readonly clockSkewMs: number;
  /** systemd runs the host (`/run/systemd/system`); undefined when the probe did not say. */
  readonly systemd?: boolean;
}

export const MODULES = { br_netfilter: 'fail', overlay: 'fail', ip_vs: 'warn' } as const;
export const SYSCTLS = ['net.ipv4.ip_forward', 'net.bridge.bridge-nf-call-iptables'] as const;
export const TOOLS_REQUIRED = ['ip', 'iptables', 'mount', 'nsenter', 'socat', 'tar'] as const;
export const TOOLS_RECOMMENDED = ['ebtables', 'tc'] as const;
export const MINIMUMS: Record<Role, { cpus: number; memGiB: number; diskGiB: number }> = {
  master: { cpus: 2, memGiB: 2, diskGiB: 20 },
  edge: { cpus: 2, memGiB: 2, diskGiB: 20 },
  worker: { cpus: 1, memGiB: 1, diskGiB: 20 },
};
export const SUPPORTED_OS = ['debian', 'ubuntu', 'rhel', 'rocky', 'almalinux', 'centos', 'ol', 'openEuler', 'kylin', 'uos', 'sles'];

/** Ports each role needs free. */
export function portsFor(roles: readonly Role[]): number[] {
  const p = new Set<number>([10250, 179]);
  if (roles.includes('master')) [6443, 2379, 2380].forEach((x) => p.add(x));
  if (roles.includes('edge')) [80, 443].forEach((x) => p.add(x));
  return [...p].sort((a, b) => a - b);
}

/** TCP targets a node must reach: every ToR on 179, every other master on 6443 (refused = reachable). */
export function reachTargets(site: Site, node: SiteNode): { target: string; kind: 'router' | 'master'; name: string }[] {
  const out: { target: string; kind: 'router' | 'master'; name: string }[] = site.spec.network.routers.map((r) => ({ target: `${r.address}:179`, kind: 'router', name: r.name }));
  const cluster = site.spec.clusters.find((c) => c.nodes.includes(node));
  if (node.roles.includes('master') && cluster) {
    for (const m of cluster.nodes) if (m !== node && m.roles.includes('master')) out.push({ target: `${m.address}:6443`, kind: 'master', name: m.name });
  }
  return out;
}

/** The probe script: one section per fact, `@@name` separators. Needs only POSIX sh + bash for /dev/tcp. */
export function probeScript(node: Pick<SiteNode, 'address'>, targets: readonly string[], tools: readonly string[] = [...TOOLS_REQUIRED, ...TOOLS_RECOMMENDED]): string {
  return [
    'export LC_ALL=C',
    'echo @@os; cat /etc/os-release 2>/dev/null',
    'echo @@kernel; uname -r',
    'echo @@arch; uname -m',
    'echo @@cpus; nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo',
    'echo @@mem; grep MemTotal /proc/meminfo',
    'echo @@disk; df -Pk /var/lib 2>/dev/null | tail -1',
    'echo @@swaps; tail -n +2 /proc/swaps | wc -l',
    'echo @@modules',
    '[ -d /sys/module/br_netfilter ] || [ -d /proc/sys/net/bridge ] && echo br_netfilter || true',
    '[ -d /sys/module/overlay ] || grep -qw overlay /proc/filesystems && echo overlay || true',
    '[ -d /sys/module/ip_vs ] || [ -e /proc/net/ip_vs ] && echo ip_vs || true',
    'echo @@sysctl',
    ...SYSCTLS.map((s) => `printf '%s=%s\\n' ${s} "$(cat /proc/sys/${s.replaceAll('.', '/')} 2>/dev/null)"`),
    'echo @@hostname; hostname',
    'echo @@listen; ss -Htln 2>/dev/null | awk \'{print $4}\'',
    'echo @@tools',
    `for t in ${tools.join(' ')}; do p=$(command -v "$t" 2>/dev/null); [ -f "$p" ] && [ -x "$p" ] && echo "$t yes" || echo "$t no"; done`,
    'echo @@containerd; containerd --version 2>/dev/null || true',
    'echo @@systemd; [ -d /run/systemd/system ] && echo yes || echo no',
    'echo @@iface',
    `ip -o -4 addr show 2>/dev/null | awk -v a=${shq(node.address)} '{split($4,p,"/"); if (p[1]==a) print $2}' | head -1 | while read i; do echo "$i $(cat /sys/class/net/$i/mtu)"; done`,
    'echo @@reach',
    ...targets.map((t) => {
      const [h, p] = t.split(':');
      return `( timeout 2 bash -c ${shq(`echo > /dev/tcp/${h}/${p}`)} >/dev/null 2>&1; echo "${t} $?" ) &`;
    }),
    'wait',
    'echo @@end',
  ].join('\n');
}

function sections(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let cur = '';
  for (const line of out.split('\n')) {
    const s = /^@@(\w+)$/.exec(line.trim());
    if (s) {
      cur = s[1]!;
      m.set(cur, []);
    } else if (cur) m.get(cur)!.push(line);
  }
  return m;
}

/** Parses the probe script's output (pure). */
export function parseProbe(out: string, clockSkewMs: number): HostFacts {
  const s = sections(out);
  const first = (k: string) => (s.get(k) ?? []).map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  const os = Object.fromEntries(
    (s.get('os') ?? [])
      .map((l) => /^(\w+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
  );
  const disk = first('disk').split(/\s+/);
  const mods = new Set((s.get('modules') ?? []).map((l) => l.trim()).filter(Boolean));
  const sysctls: Record<string, string | undefined> = {};
  for (const l of s.get('sysctl') ?? []) {
    const m = /^([\w.-]+)=(.*)$/.exec(l.trim());
    if (m) sysctls[m[1]!] = m[2] === '' ? undefined : m[2];
  }
  const listening = new Set<number>();
  for (const l of s.get('listen') ?? []) {
    const m = /:(\d+)$/.exec(l.trim());
    if (m) listening.add(Number(m[1]));
  }
  const tools: Record<string, boolean> = {};
  for (const l of s.get('tools') ?? []) {
    const [t, v] = l.trim().split(' ');
    if (t) tools[t] = v === 'yes';
  }
  const iface = first('iface').split(' ');
  const reach: Record<string, Reach> = {};
  for (const l of s.get('reach') ?? []) {
    const [t, code] = l.trim().split(' ');
    if (t && code !== undefined) reach[t] = code === '0' ? 'open' : code === '124' ? 'timeout' : 'refused';
  }
  const ctr = /(\d+\.\d+\.\d+)/.exec(first('containerd'));
  return {
    osId: os.ID ?? '',
    osPretty: os.PRETTY_NAME ?? os.ID ?? 'unknown',
    kernel: first('kernel'),
    arch: first('arch'),
    cpus: Number(first('cpus')) || 0,
    memKiB: Number(/(\d+)/.exec(first('mem'))?.[1] ?? 0),
    diskFreeKiB: Number(disk[3] ?? 0),
    swaps: Number(first('swaps')) || 0,
    modules: Object.fromEntries(Object.keys(MODULES).map((m) => [m, mods.has(m)])),
    sysctls,
    hostname: first('hostname'),
    listening: [...listening].sort((a, b) => a - b),
    tools,
    containerd: ctr?.[1],
    iface: iface[0] || undefined,
    mtu: iface[1] ? Number(iface[1]) : undefined,
    reach,
    clockSkewMs,
    ...(s.has('systemd') ? { systemd: first('systemd') === 'yes' } : {}),
  };
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const pass = (id: string, message: string): PreflightCheck => ({ id, severity: 'pass', message });
const warn = (id: string, message: string, fix: string): PreflightCheck => ({ id, severity: 'warn', message, fix });
const fail = (id: string, message: string, fix: string): PreflightCheck => ({ id, severity: 'fail', message, fix });

/** CPU, memory and disk against a minimum (`who` names the roles in the message). */
function resourceChecks(f: HostFacts, min: { cpus: number; memGiB: number; diskGiB: number }, who: string): PreflightCheck[] {
  const memGiB = f.memKiB / 1048576;
  const diskGiB = f.diskFreeKiB / 1048576;
  return [
    f.cpus >= min.cpus ? pass('resources.cpu', `${f.cpus} CPUs`) : fail('resources.cpu', `${f.cpus} CPUs, ${who} needs ${min.cpus}`, `give the host at least ${min.cpus} CPUs`),
    // 5% slack: MemTotal excludes kernel-reserved memory, a "2 GiB" VM reports ~1.9 GiB.
    memGiB >= min.memGiB * 0.95 ? pass('resources.memory', `${memGiB.toFixed(1)} GiB`) : fail('resources.memory', `${memGiB.toFixed(1)} GiB memory, ${who} needs ${min.memGiB} GiB`, `give the host at least ${min.memGiB} GiB`),
    diskGiB >= min.diskGiB ? pass('resources.disk', `${diskGiB.toFixed(0)} GiB free under /var/lib`) : fail('resources.disk', `${diskGiB.toFixed(1)} GiB free under /var/lib, ${who} needs ${min.diskGiB} GiB`, 'free space or grow the /var/lib file system'),
  ];
}

/** `needs`: what on this host needs synchronized clocks (nodes: etcd and certificates). */
function clockCheck(f: HostFacts, needs = 'etcd and certificates'): PreflightCheck {
  const skew = Math.abs(f.clockSkewMs);
  const skewS = (f.clockSkewMs / 1000).toFixed(2);
  if (skew > 60_000) return fail('clock.skew', `clock is ${skewS} s off the control machine`, 'configure chrony/NTP against the site time source');
  if (skew > 1000) return warn('clock.skew', `clock is ${skewS} s off the control machine`, `configure chrony/NTP; ${needs} need synchronized clocks`);
  return pass('clock.skew', `clock within ${skewS} s`);
}

const hostnameCheck = (f: HostFacts, name: string): PreflightCheck =>
  DNS1123_LABEL.test(f.hostname) ? pass('hostname.dns1123', f.hostname) : fail('hostname.dns1123', `hostname ${JSON.stringify(f.hostname)} is not a DNS-1123 label`, `hostnamectl set-hostname ${name}`);

/** All single-host checks (pure). */
export function checkHost(node: SiteNode, f: HostFacts, targets: readonly { target: string; kind: 'router' | 'master'; name: string }[]): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  out.push(SUPPORTED_OS.includes(f.osId) ? pass('os.distribution', f.osPretty) : warn('os.distribution', `${f.osPretty} is not a tested distribution`, `use one of ${SUPPORTED_OS.join(', ')}`));
  out.push(
    compareVersions(f.kernel, '4.19') >= 0
      ? pass('os.kernel', `kernel ${f.kernel}`)
      : fail('os.kernel', `kernel ${f.kernel || '?'} is older than 4.19`, 'upgrade the kernel to 4.19 or newer (e.g. the distribution HWE kernel)'),
  );
  out.push(['x86_64', 'aarch64'].includes(f.arch) ? pass('os.arch', f.arch) : fail('os.arch', `architecture ${f.arch} is not supported`, 'use x86_64 or aarch64 hosts'));
  const min = node.roles.reduce(
    (m, r) => ({ cpus: Math.max(m.cpus, MINIMUMS[r].cpus), memGiB: Math.max(m.memGiB, MINIMUMS[r].memGiB), diskGiB: Math.max(m.diskGiB, MINIMUMS[r].diskGiB) }),
    { cpus: 0, memGiB: 0, diskGiB: 0 },
  );
  out.push(...resourceChecks(f, min, node.roles.join('+')));
  out.push(f.swaps === 0 ? pass('os.swap', 'swap is off') : fail('os.swap', `${f.swaps} swap device(s) active`, "swapoff -a and remove swap from /etc/fstab"));
  for (const [m, sev] of Object.entries(MODULES)) {
    if (f.modules[m]) out.push(pass(`kernel.module.${m}`, `${m} available`));
    else {
      const fix = `modprobe ${m} and add it to /etc/modules-load.d/k8s.conf`;
      out.push(sev === 'fail' ? fail(`kernel.module.${m}`, `kernel module ${m} is not loaded`, fix) : warn(`kernel.module.${m}`, `kernel module ${m} is not loaded (needed for kube-proxy IPVS mode)`, fix));
    }
  }
  for (const s of SYSCTLS) {
    const v = f.sysctls[s];
    out.push(v === '1' ? pass(`sysctl.${s}`, `${s} = 1`) : fail(`sysctl.${s}`, `${s} = ${v ?? '(missing)'}, expected 1`, `sysctl -w ${s}=1 and persist it in /etc/sysctl.d/k8s.conf`));
  }
  out.push(clockCheck(f), hostnameCheck(f, node.name));
  const busy = portsFor(node.roles).filter((p) => f.listening.includes(p));
  out.push(busy.length === 0 ? pass('ports.free', `${portsFor(node.roles).join(', ')} free`) : fail('ports.free', `port(s) ${busy.join(', ')} already in use`, `stop what listens there (ss -ltnp 'sport = :${busy[0]}')`));
  const missing = TOOLS_REQUIRED.filter((t) => !f.tools[t]);
  out.push(missing.length === 0 ? pass('tools.required', `${TOOLS_REQUIRED.join(', ')} present`) : fail('tools.required', `missing ${missing.join(', ')}`, `install ${missing.join(' ')} (apt-get install / dnf install)`));
  const missingRec = TOOLS_RECOMMENDED.filter((t) => !f.tools[t]);
  if (missingRec.length > 0) out.push(warn('tools.recommended', `missing ${missingRec.join(', ')}`, `install ${missingRec.join(' ')}`));
  out.push(
    !f.containerd
      ? warn('runtime.containerd', 'containerd is not installed', 'install containerd ≥ 1.6 (from the bundle OS packages) before flotilla install')
      : compareVersions(f.containerd, '1.6.0') >= 0
        ? pass('runtime.containerd', `containerd ${f.containerd}`)
        : fail('runtime.containerd', `containerd ${f.containerd} is older than 1.6`, 'upgrade containerd to 1.6 or newer'),
  );
  for (const t of targets) {
    const r = f.reach[t.target];
    const id = `net.reach.${t.kind}`;
    if (t.kind === 'router') {
      out.push(
        r === 'open'
          ? pass(id, `${t.name} ${t.target} accepts BGP`)
          : r === 'refused'
            ? fail(id, `${t.name} ${t.target} refused the connection`, `ask the network team to configure the BGP neighbor ${node.address} on ${t.name}`)
            : fail(id, `${t.name} ${t.target} unreachable (${r ?? 'not probed'})`, 'check routing/firewall between the node and the ToR'),
      );
    } else {
      out.push(r === 'open' || r === 'refused' ? pass(id, `master ${t.name} ${t.target} reachable`) : fail(id, `master ${t.name} ${t.target} unreachable (${r ?? 'not probed'})`, 'check routing/firewall between masters (6443, 2379-2380)'));
    }
  }
  return out;
}

/** What a front host runs (Debian's haproxy and keepalived services, curl for the track script). */
export const FRONT_TOOLS = ['haproxy', 'keepalived', 'curl', 'ip'] as const;
/** Front and ops hosts run one daemon or two: no Kubernetes minimums. */
export const SITE_HOST_MINIMUMS = { cpus: 1, memGiB: 1, diskGiB: 5 } as const;

/** Ports a front host's HAProxy binds: the site front's frontends, the runtime API, the local health endpoint. */
export function frontPorts(site: Site): number[] {
  if (!site.spec.front) return [];
  const p = new Set<number>([site.spec.front.runtimeApi.port, DEFAULT_FRONT_HEALTH_PORT, ...frontInputFromSite(site).backends.map((b) => b.bindPort)]);
  return [...p].sort((a, b) => a - b);
}

/** TCP targets of the ops host: every cluster's API VIP on 6443 (cluster-mgr talks to every member). */
export function opsReachTargets(site: Site): { target: string; kind: 'api'; name: string }[] {
  return site.spec.clusters.map((c) => ({ target: `${c.apiVIP.address.split('/')[0]}:6443`, kind: 'api', name: c.name }));
}

/**
 * Checks of a front host or the ops host (pure): OS, resources, clock, hostname like a node; a front
 * host needs haproxy, keepalived, curl and ip and its ports free (a warning: on a re-run the front's
 * own HAProxy holds them); the ops host needs systemd for cluster-mgr's unit and reach to every API VIP.
 */
export function checkSiteHost(host: Pick<SiteHost, 'kind' | 'name'>, f: HostFacts, o: { ports?: readonly number[]; targets?: readonly { target: string; name: string }[] } = {}): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  out.push(SUPPORTED_OS.includes(f.osId) ? pass('os.distribution', f.osPretty) : warn('os.distribution', `${f.osPretty} is not a tested distribution`, `use one of ${SUPPORTED_OS.join(', ')}`));
  out.push(['x86_64', 'aarch64'].includes(f.arch) ? pass('os.arch', f.arch) : fail('os.arch', `architecture ${f.arch} is not supported`, 'use x86_64 or aarch64 hosts'));
  out.push(...resourceChecks(f, SITE_HOST_MINIMUMS, host.kind === 'ops' ? 'the ops host' : 'a front host'), clockCheck(f, 'certificates'), hostnameCheck(f, host.name));
  if (host.kind === 'front') {
    const missing = FRONT_TOOLS.filter((t) => !f.tools[t]);
    out.push(missing.length === 0 ? pass('tools.required', `${FRONT_TOOLS.join(', ')} present`) : fail('tools.required', `missing ${missing.join(', ')}`, `install ${missing.join(' ')} (apt-get install haproxy keepalived curl iproute2)`));
    const ports = o.ports ?? [];
    const busy = ports.filter((p) => f.listening.includes(p));
    out.push(
      busy.length === 0
        ? pass('ports.free', `${ports.join(', ')} free`)
        : warn('ports.free', `port(s) ${busy.join(', ')} already in use`, `fine if it is the front HAProxy of an earlier install; else stop what listens there (ss -ltnp 'sport = :${busy[0]}')`),
    );
  }
  if (host.kind === 'ops') {
    out.push(
      f.systemd === false
        ? fail('os.systemd', 'systemd does not run this host', "cluster-mgr runs as a systemd unit here: use a host booted with systemd, or drop spec.federation.opsHost")
        : pass('os.systemd', 'systemd runs the host'),
    );
  }
  for (const t of o.targets ?? []) {
    const r = f.reach[t.target];
    out.push(r === 'open' || r === 'refused' ? pass('net.reach.api', `API VIP of ${t.name} ${t.target} reachable`) : fail('net.reach.api', `API VIP of ${t.name} ${t.target} unreachable (${r ?? 'not probed'})`, `check routing/firewall from ${host.name} to ${t.target}`));
  }
  return out;
}

/** Checks across hosts: duplicate hostnames, MTU consistency per cluster (pure). */
export function crossChecks(hosts: readonly { node: SiteNode; cluster: string; facts?: HostFacts }[]): Map<string, PreflightCheck[]> {
  const out = new Map<string, PreflightCheck[]>(hosts.map((h) => [h.node.name, []]));
  const byName = new Map<string, string[]>();
  for (const h of hosts) if (h.facts) byName.set(h.facts.hostname, [...(byName.get(h.facts.hostname) ?? []), h.node.name]);
  for (const h of hosts) {
    if (!h.facts) continue;
    const same = (byName.get(h.facts.hostname) ?? []).filter((n) => n !== h.node.name);
    out.get(h.node.name)!.push(
      same.length === 0
        ? pass('hostname.unique', `hostname ${h.facts.hostname} is unique`)
        : fail('hostname.unique', `hostname ${h.facts.hostname} is also used by ${same.join(', ')}`, `hostnamectl set-hostname ${h.node.name}`),
    );
  }
  const clusters = new Set(hosts.map((h) => h.cluster));
  for (const c of clusters) {
    const members = hosts.filter((h) => h.cluster === c && h.facts?.mtu !== undefined);
    const counts = new Map<number, number>();
    for (const m of members) counts.set(m.facts!.mtu!, (counts.get(m.facts!.mtu!) ?? 0) + 1);
    const common = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0];
    for (const m of members) {
      const mtu = m.facts!.mtu!;
      out.get(m.node.name)!.push(
        mtu === common
          ? pass('net.mtu', `MTU ${mtu} on ${m.facts!.iface}`)
          : warn('net.mtu', `MTU ${mtu} on ${m.facts!.iface} differs from the cluster's ${common}`, `set MTU ${common} on ${m.facts!.iface} (or fix the others)`),
      );
    }
  }
  return out;
}

export interface HostPreflight {
  readonly node: string;
  readonly address: string;
  /** The node's roles, or `front` / `ops` for the site-level hosts. */
  readonly roles: (Role | 'front' | 'ops')[];
  readonly status: Severity;
  readonly checks: PreflightCheck[];
}

export function worst(checks: readonly PreflightCheck[]): Severity {
  if (checks.some((c) => c.severity === 'fail')) return 'fail';
  if (checks.some((c) => c.severity === 'warn')) return 'warn';
  return 'pass';
}

/** Runs the probe over SSH on every node (bounded by the pool), then all checks. */
export async function runPreflight(
  site: Site,
  pool: SshPool,
  opts: { skip?: readonly string[]; onHostDone?: (node: string, done: number, total: number) => void; now?: () => number } = {},
): Promise<HostPreflight[]> {
  const now = opts.now ?? (() => Date.now());
  // cluster nodes, then the front hosts and the ops host (infra/site/hosts: the order install uses)
  const nodes = new Map(site.spec.clusters.flatMap((c) => c.nodes.map((n) => [n.name, n] as const)));
  const all = siteHosts(site).map((h) => ({ host: h, node: nodes.get(h.name) ?? ({ name: h.name, address: h.address, roles: [], labels: {} } satisfies SiteNode), cluster: h.cluster || `(${h.kind})` }));
  let done = 0;
  const probed = await Promise.all(
    all.map(({ host, node, cluster }) =>
      pool.limit(async () => {
        const targets = host.kind === 'node' ? reachTargets(site, node) : host.kind === 'ops' ? opsReachTargets(site) : [];
        const tools = host.kind === 'front' ? FRONT_TOOLS : undefined;
        try {
          await pool.client(node.address);
          // The clock read gets its own channel (a tight round trip) in parallel with the probe script.
          const clock = (async () => {
            const t0 = now();
            const t = await pool.exec(node.address, 'date +%s%3N', { timeoutMs: 15_000 });
            const t1 = now();
            const remote = Number(t.stdout.trim());
            return Number.isFinite(remote) ? remote - (t0 + t1) / 2 : 0;
          })();
          const [skew, r] = await Promise.all([clock, pool.exec(node.address, `bash -s`, { stdin: probeScript(node, targets.map((x) => x.target), tools), timeoutMs: 30_000 })]);
          if (!r.stdout.includes('@@end')) throw new Error(`probe script failed (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
          const facts = parseProbe(r.stdout, skew);
          const checks =
            host.kind === 'node'
              ? checkHost(node, facts, reachTargets(site, node))
              : checkSiteHost(host, facts, { ports: host.kind === 'front' ? frontPorts(site) : [], targets: host.kind === 'ops' ? opsReachTargets(site) : [] });
          return { node, cluster, facts, checks: [pass('ssh.connect', `${site.spec.ssh.user}@${node.address} connected`), ...checks] };
        } catch (err) {
          const e = err as Error & { kind?: string };
          const id = e.kind === 'host-key' ? 'ssh.host-key' : e.kind === 'auth' ? 'ssh.auth' : 'ssh.connect';
          return { node, cluster, facts: undefined, checks: [fail(id, e.message, id === 'ssh.host-key' ? 'verify the fingerprint with the host owner, then update known_hosts' : id === 'ssh.auth' ? 'install the deployment public key in authorized_keys' : 'check the address, routing and that sshd runs')] };
        } finally {
          opts.onHostDone?.(node.name, ++done, all.length);
        }
      }),
    ),
  );
  const cross = crossChecks(probed);
  const skip = new Set(opts.skip ?? []);
  return probed.map((p) => {
    const checks = [...p.checks, ...(cross.get(p.node.name) ?? [])].map((c) =>
      [...skip].some((s) => c.id === s || c.id.startsWith(`${s}.`)) ? { ...c, severity: 'skip' as const, message: `${c.message} (skipped by --skip)` } : c,
    );
    const host = all.find((a) => a.node === p.node)!.host;
    return { node: p.node.name, address: p.node.address, roles: [...host.roles], status: worst(checks), checks };
  });
}
