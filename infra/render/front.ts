// The global front HAProxy (`front/haproxy.cfg`) in front of the site's ingress VIPs: one backend
// per edge-VIP port, one server per member cluster named exactly as the cluster (the Federation
// contract's `traffic.server`), fast health checks and retries so a failed member loses no
// requests (DESIGN.md: 0 of 2000 lost with these settings, ~30 without retries), and the admin
// runtime socket cluster-mgr drives. `renderFrontHaproxy` takes a plain input so cluster-mgr's
// simulator can render a front for loopback members too.
import { resolved, type SiteSource } from '../site/resolve';
import { addressOf, blocks, header } from './common';

export interface FrontServer {
  /** Server name: the member cluster's name (Federation `traffic.server`). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** @default 100 */
  readonly weight?: number;
}

export interface FrontHealthCheck {
  /** HTTP backends: request path. @default '/' */
  readonly path?: string;
  /** HTTP backends: Host header sent with the check (the check then speaks HTTP/1.1). @default - none (HTTP/1.0) */
  readonly host?: string;
  /**
   * HTTP backends: what counts as up, as an `http-check expect` argument.
   * @default '! rstatus ^5' (the member's gateway answers and is not failing)
   */
  readonly expect?: string;
  /** @default '500ms' */
  readonly inter?: string;
  /** @default 2 */
  readonly fall?: number;
  /** @default 2 */
  readonly rise?: number;
}

export interface FrontBackend {
  /** Backend (and frontend) name, e.g. `web`. */
  readonly name: string;
  /** `http` for plain HTTP (L7 checks, L7 retries); `tcp` for TLS passthrough and other TCP. */
  readonly mode: 'http' | 'tcp';
  /** Listen address. @default '*' */
  readonly bindAddress?: string;
  readonly bindPort: number;
  readonly servers: readonly FrontServer[];
  readonly healthCheck?: FrontHealthCheck;
}

export interface FrontTimeouts {
  /** @default '1s' */
  readonly connect?: string;
  /** @default '30s' */
  readonly client?: string;
  /** @default '30s' */
  readonly server?: string;
  /** @default '1s' */
  readonly check?: string;
  /** @default '10s' */
  readonly httpRequest?: string;
}

/**
 * HAProxy's admin runtime API over TCP for cluster-mgr, on one front host: a TCP frontend on the
 * host's private address that accepts only the allowed source ranges and only clients presenting a
 * certificate from the runtime-API CA with the expected CN (mutual TLS), proxied to the unix admin
 * socket. Why not `stats socket ipv4@…`: a stats socket takes bind options (so TLS) but no ACLs, so
 * the source restriction would live in a firewall outside HAProxy; the frontend keeps both checks in
 * one config that `haproxy -c` verifies.
 */
export interface FrontRuntimeApi {
  /** The front host's private address. */
  readonly address: string;
  readonly port: number;
  /** Source ranges allowed to connect (cluster-mgr's pods or ops host). */
  readonly allowedSources: readonly string[];
  /** Server certificate and key (PEM, one file) the front presents. */
  readonly certFile: string;
  /** CA that signs the client certificates. */
  readonly clientCaFile: string;
  /** CN the client certificate must carry. */
  readonly clientName: string;
}

/** A local HTTP health endpoint (`monitor-uri`) the front's keepalived track script asks. */
export interface FrontHealth {
  /** @default '127.0.0.1' */
  readonly address?: string;
  readonly port: number;
  /** @default '/healthz' */
  readonly path?: string;
}

export interface FrontInput {
  /** Comment lines after the generated header. */
  readonly comment?: readonly string[];
  readonly backends: readonly FrontBackend[];
  /** Admin runtime socket (cluster-mgr's HAProxy adapter). @default '/run/haproxy/admin.sock' */
  readonly socketPath?: string;
  readonly timeouts?: FrontTimeouts;
  /** Connect retries on another server. @default 3 */
  readonly retries?: number;
  /** Global connection limit. @default - HAProxy derives it from the open-file limit */
  readonly maxconn?: number;
  /** `log` target in `global`. @default 'stdout format raw local0' */
  readonly log?: string;
  /** Write a pid file (tests). @default - none */
  readonly pidFile?: string;
  /** Runtime API over TCP (front hosts). @default - unix socket only */
  readonly runtimeApi?: FrontRuntimeApi;
  /** Local health endpoint for keepalived (front hosts). @default - none */
  readonly health?: FrontHealth;
}

/** Section names the front uses for itself (never derived from a site: DNS labels have no '_'). */
export const FRONT_RUNTIME_API = 'flotilla_runtime_api';
export const FRONT_HEALTH = 'flotilla_health';

export const DEFAULT_FRONT_SOCKET = '/run/haproxy/admin.sock';

const NAME = /^[A-Za-z0-9_.:-]+$/;

function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw new Error(`${what} ${JSON.stringify(name)} is not a valid HAProxy name: use letters, digits, '-', '_', '.', ':'`);
}

/** Renders a front haproxy.cfg from the plain input. Pure and deterministic. */
export function renderFrontHaproxy(input: FrontInput): string {
  const t = input.timeouts ?? {};
  const seen = new Set<string>();
  for (const b of input.backends) {
    checkName('backend', b.name);
    if (seen.has(b.name)) throw new Error(`backend ${JSON.stringify(b.name)} appears twice: backend names must be unique`);
    seen.add(b.name);
    const servers = new Set<string>();
    for (const s of b.servers) {
      checkName(`server of backend ${b.name}`, s.name);
      if (servers.has(s.name)) throw new Error(`server ${JSON.stringify(s.name)} appears twice in backend ${JSON.stringify(b.name)}: one server per member cluster`);
      servers.add(s.name);
    }
  }
  const binds = new Map<string, string>();
  for (const b of input.backends) {
    const key = `${b.bindAddress ?? '*'}:${b.bindPort}`;
    const prev = binds.get(key);
    if (prev) throw new Error(`backends ${JSON.stringify(prev)} and ${JSON.stringify(b.name)} both listen on ${key}: give each its own port`);
    binds.set(key, b.name);
  }
  for (const b of input.backends) {
    if (b.name === FRONT_RUNTIME_API || b.name === FRONT_HEALTH) throw new Error(`backend ${JSON.stringify(b.name)}: the name is reserved for the front's own sections`);
  }
  const socket = input.socketPath ?? DEFAULT_FRONT_SOCKET;
  const global = [
    'global',
    `  log ${input.log ?? 'stdout format raw local0'}`,
    ...(input.maxconn !== undefined ? [`  maxconn ${input.maxconn}`] : []),
    ...(input.pidFile ? [`  pidfile ${input.pidFile}`] : []),
    '  # runtime API for cluster-mgr (set server … state/weight); root only',
    `  stats socket ${socket} mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
  ].join('\n');
  const defaults = [
    'defaults',
    '  log global',
    '  option dontlognull',
    `  timeout connect ${t.connect ?? '1s'}`,
    `  timeout client ${t.client ?? '30s'}`,
    `  timeout server ${t.server ?? '30s'}`,
    `  timeout check ${t.check ?? '1s'}`,
    `  timeout http-request ${t.httpRequest ?? '10s'}`,
    '  # a failed connect is retried, on another server (redispatch)',
    `  retries ${input.retries ?? 3}`,
    '  option redispatch 1',
  ].join('\n');
  const sections = input.backends.flatMap((b) => {
    const hc = b.healthCheck ?? {};
    const frontend = [
      `frontend ${b.name}`,
      `  bind ${b.bindAddress ?? '*'}:${b.bindPort}`,
      `  mode ${b.mode}`,
      ...(b.mode === 'http' ? ['  option httplog'] : ['  option tcplog']),
      `  default_backend ${b.name}`,
    ].join('\n');
    const backend = [`backend ${b.name}`, `  mode ${b.mode}`, '  balance roundrobin'];
    if (b.mode === 'http') {
      backend.push(
        '  option httpchk',
        `  http-check send meth GET uri ${hc.path ?? '/'}${hc.host ? ` ver HTTP/1.1 hdr Host ${hc.host}` : ''}`,
        `  http-check expect ${hc.expect ?? '! rstatus ^5'}`,
        '  # replay a request that failed before any response on another member; never for',
        '  # non-idempotent methods',
        '  retry-on all-retryable-errors',
        '  http-request disable-l7-retry unless METH_GET || METH_HEAD || METH_OPTIONS',
      );
    } else {
      backend.push('  option tcp-check');
    }
    backend.push(`  default-server inter ${hc.inter ?? '500ms'} fall ${hc.fall ?? 2} rise ${hc.rise ?? 2}`);
    for (const s of b.servers) backend.push(`  server ${s.name} ${s.address}:${s.port} check weight ${s.weight ?? 100}`);
    return [frontend, backend.join('\n')];
  });
  const own: string[] = [];
  const api = input.runtimeApi;
  if (api) {
    if (api.allowedSources.length === 0) throw new Error('runtimeApi.allowedSources: give at least one source range (cluster-mgr\'s pods or ops host)');
    own.push(
      [
        `frontend ${FRONT_RUNTIME_API}`,
        "  # cluster-mgr → the admin runtime API: only from the allowed sources, only with a client",
        `  # certificate of the runtime-API CA whose CN is ${api.clientName} (mutual TLS); then the unix socket`,
        '  mode tcp',
        `  bind ${api.address}:${api.port} ssl crt ${api.certFile} ca-file ${api.clientCaFile} verify required`,
        `  tcp-request connection reject unless { src ${api.allowedSources.join(' ')} }`,
        `  tcp-request session reject unless { ssl_c_s_dn(CN) -m str ${api.clientName} }`,
        `  default_backend ${FRONT_RUNTIME_API}`,
      ].join('\n'),
      [`backend ${FRONT_RUNTIME_API}`, '  mode tcp', `  server admin unix@${socket}`].join('\n'),
    );
  }
  if (input.health) {
    own.push(
      [
        `frontend ${FRONT_HEALTH}`,
        "  # keepalived's track script: 200 while this HAProxy runs",
        '  mode http',
        `  bind ${input.health.address ?? '127.0.0.1'}:${input.health.port}`,
        `  monitor-uri ${input.health.path ?? '/healthz'}`,
      ].join('\n'),
    );
  }
  return blocks([header(input.comment ?? ['Global front HAProxy.']), global, defaults, ...sections, ...own]);
}

/**
 * Backend name of an edge-VIP port: `web` for port 80 of the VIP named `ingress` (the Federation
 * contract's default backend), `<vip>-<port>` otherwise.
 */
export function frontBackendName(vipName: string, port: number): string {
  return vipName === 'ingress' && port === 80 ? 'web' : `${vipName}-${port}`;
}

export interface FrontSiteOptions {
  /** @default '/run/haproxy/admin.sock' */
  readonly socketPath?: string;
  /**
   * Health check of the HTTP (port 80) backends.
   * @default - `GET /` over HTTP/1.1 with `Host: <site domain>`, up unless 5xx, inter 500ms fall 2 rise 2
   */
  readonly healthCheck?: FrontHealthCheck;
}

/**
 * The front of a site: per edge-VIP name and port one backend (HTTP for port 80, TCP otherwise)
 * with one server per cluster that has that VIP, named as the cluster, at the cluster's VIP.
 */
export function frontInputFromSite(input: SiteSource, opts: FrontSiteOptions = {}): FrontInput {
  const { site } = resolved(input);
  const byKey = new Map<string, { vip: string; port: number; servers: FrontServer[] }>();
  for (const c of site.spec.clusters) {
    for (const vip of c.edge.vips) {
      for (const port of vip.ports) {
        const key = `${vip.name}\0${port}`;
        let entry = byKey.get(key);
        if (!entry) byKey.set(key, (entry = { vip: vip.name, port, servers: [] }));
        entry.servers.push({ name: c.name, address: addressOf(vip.address), port });
      }
    }
  }
  const entries = [...byKey.values()].sort((a, b) => a.port - b.port || a.vip.localeCompare(b.vip));
  const ports = new Map<number, string>();
  for (const e of entries) {
    const prev = ports.get(e.port);
    if (prev) {
      throw new Error(
        `edge VIPs ${JSON.stringify(prev)} and ${JSON.stringify(e.vip)} both serve port ${e.port}: the site front listens once per port, so give one VIP another port`,
      );
    }
    ports.set(e.port, e.vip);
  }
  return {
    comment: [
      `Global front of site ${site.metadata.name}: in front of the edge VIPs of ${site.spec.clusters.map((c) => c.name).join(', ')}.`,
      'Servers are named as the member clusters (Federation traffic.server); cluster-mgr drives them',
      'through the admin socket.',
    ],
    socketPath: opts.socketPath ?? DEFAULT_FRONT_SOCKET,
    backends: entries.map((e) => ({
      name: frontBackendName(e.vip, e.port),
      mode: e.port === 80 ? ('http' as const) : ('tcp' as const),
      bindPort: e.port,
      servers: e.servers,
      healthCheck: opts.healthCheck ?? { host: site.spec.domain },
    })),
  };
}
