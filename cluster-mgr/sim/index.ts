// `startSim`: N simulated member clusters on loopback, plus the files a user or cluster-mgr needs to
// talk to them (kubeconfigs, a Federation file, sim.json, optionally a front haproxy.cfg).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { FAULT_MODES, SimMember, type FaultMode } from './member';
import { NAME_RE } from './store';

export { FAULT_MODES, SimMember, type FaultMode, type NodeCapacity } from './member';

export interface SimMemberInfo {
  name: string;
  api: string;
  ingress: string;
  fault: string;
  kubeconfig: string;
}

export interface MemberOverrides {
  readonly nodes?: number;
  readonly nodeCpu?: string;
  readonly nodeMemory?: string;
  readonly nodePods?: number;
}

export interface SimOptions {
  /** Member names. @default - sim-1..sim-N */
  names?: string[];
  /** Number of members when `names` is not given. @default 2 */
  count?: number;
  /** Where kubeconfigs/, federation.yaml, sim.json (and haproxy.cfg) go. @default - a new temp dir */
  outDir?: string;
  /** Nodes per member. @default 3 */
  nodesPerMember?: number;
  /** Node allocatable cpu. @default '4' */
  nodeCpu?: string;
  /** Node allocatable memory. @default '8Gi' */
  nodeMemory?: string;
  /** Node allocatable pods. @default 110 */
  nodePods?: number;
  /** Per-member capacity overrides, by member name. */
  perMember?: Record<string, MemberOverrides>;
  /** Listen address: loopback only. @default '127.0.0.1' */
  host?: string;
  /** Pods become Ready this long after they are scheduled. @default 0 */
  podReadyDelayMs?: number;
  /** Watch events retained per member; older resourceVersions get 410 Gone. @default 1000 */
  watchWindow?: number;
  /** BOOKMARK period on watches with allowWatchBookmarks=true. @default 5000 */
  bookmarkIntervalMs?: number;
  /** Delay of the `slow` fault. @default 2000 */
  slowMs?: number;
  /** Seed the example app's namespace and ConfigMap in the first member (the propagation source). @default true */
  seedExample?: boolean;
  /**
   * Renders the front HAProxy config over the members' ingress endpoints (infra/render's
   * `renderFrontHaproxy`; the caller injects it, the simulator does not reach into infra/).
   * @default - no haproxy.cfg is written
   */
  renderFront?: (input: SimFrontInput) => string;
  /** Where the front listens (with `renderFront`). @default - a free port */
  frontPort?: number;
}

/** What the simulator asks the front renderer for: one HTTP backend over every member's ingress. */
export interface SimFrontInput {
  readonly comment: readonly string[];
  readonly backends: readonly {
    readonly name: string;
    readonly mode: 'http';
    readonly bindAddress: string;
    readonly bindPort: number;
    readonly servers: readonly { readonly name: string; readonly address: string; readonly port: number }[];
    readonly healthCheck: { readonly path: string };
  }[];
  readonly socketPath: string;
  readonly log: string;
}

export interface Sim {
  members: SimMemberInfo[];
  outDir: string;
  federationFile: string;
  /** sim.json: `{"members": {"<name>": {"api", "ingress", "fault"}}}`. */
  simFile: string;
  /** haproxy.cfg in front of the ingress endpoints, when `renderFront` was given. */
  haproxyFile?: string;
  /** Why haproxy.cfg could not be rendered (the renderer threw). */
  haproxyError?: string;
  setFault(name: string, mode: FaultMode, opts?: { slowMs?: number }): Promise<void>;
  /** Direct access for tests: a member's object store (get/list by kind/ns/name), node capacity edits. */
  member(name: string): SimMember;
  stop(): Promise<void>;
}

export class SimConfigError extends Error {
  override name = 'SimConfigError';
}

function checkOptions(opts: SimOptions): string[] {
  const names = opts.names ?? Array.from({ length: opts.count ?? 2 }, (_, i) => `sim-${i + 1}`);
  if (opts.names && opts.count !== undefined && opts.count !== opts.names.length)
    throw new SimConfigError(`count ${opts.count} does not match the ${opts.names.length} names given: give one of them`);
  if (names.length < 1 || names.length > 50) throw new SimConfigError(`clusters: got ${names.length}, expected 1 to 50`);
  const seen = new Set<string>();
  for (const n of names) {
    if (!NAME_RE.test(n) || n.length > 40 || n.includes('.'))
      throw new SimConfigError(`member name ${JSON.stringify(n)} is not a DNS label: use lowercase letters, digits and '-' (at most 40)`);
    if (seen.has(n)) throw new SimConfigError(`member name ${JSON.stringify(n)} appears twice: names must be unique`);
    seen.add(n);
  }
  const host = opts.host ?? '127.0.0.1';
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost')
    throw new SimConfigError(`host ${JSON.stringify(host)} is not a loopback address: the simulator listens on 127.0.0.0/8 only`);
  for (const k of Object.keys(opts.perMember ?? {}))
    if (!seen.has(k)) throw new SimConfigError(`perMember.${k}: no member named ${JSON.stringify(k)} (members: ${names.join(', ')})`);
  const nodes = opts.nodesPerMember ?? 3;
  if (!Number.isInteger(nodes) || nodes < 0 || nodes > 500) throw new SimConfigError(`nodesPerMember: got ${nodes}, expected 0 to 500`);
  return names;
}

export function kubeconfigYaml(name: string, server: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // insecure-skip-tls-verify: @kubernetes/client-node refuses plain http without it (loopback only, no TLS here).
    clusters: [{ name, cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: `${name}-admin`, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export const EXAMPLE_APP = {
  name: 'web',
  namespace: 'shop',
  replicas: 6,
  template: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'registry.example.com/apps/web:1.4.2', resources: { requests: { cpu: '500m', memory: '512Mi' } } }] },
      },
    },
  },
  placement: { spread: 'capacity' },
  propagate: [{ kind: 'ConfigMap', name: 'web-config' }],
};

export function federationDoc(names: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Federation',
    metadata: { name: 'sim' },
    spec: {
      members: names.map((n) => ({ name: n, kubeconfig: `./kubeconfigs/${n}.yaml`, labels: { site: n, env: 'sim' }, traffic: { server: n } })),
      health: { interval: '1s', timeout: '800ms', failureThreshold: 3, successThreshold: 3, failbackAfter: '10s' },
      apps: [EXAMPLE_APP],
    },
  };
}

async function freeLoopbackPort(host: string): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export async function startSim(opts: SimOptions = {}): Promise<Sim> {
  const names = checkOptions(opts);
  const host = opts.host ?? '127.0.0.1';
  const outDir = resolve(opts.outDir ?? (await mkdtemp(join(tmpdir(), 'flotilla-sim-'))));
  await mkdir(join(outDir, 'kubeconfigs'), { recursive: true });
  const members = new Map<string, SimMember>();
  try {
    for (const [index, name] of names.entries()) {
      const o = opts.perMember?.[name] ?? {};
      const m = new SimMember({
        name,
        host,
        index,
        nodes: o.nodes ?? opts.nodesPerMember ?? 3,
        nodeCpu: o.nodeCpu ?? opts.nodeCpu ?? '4',
        nodeMemory: o.nodeMemory ?? opts.nodeMemory ?? '8Gi',
        nodePods: o.nodePods ?? opts.nodePods ?? 110,
        podReadyDelayMs: opts.podReadyDelayMs ?? 0,
        watchWindow: opts.watchWindow ?? 1000,
        bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 5000,
        slowMs: opts.slowMs ?? 2000,
      });
      members.set(name, m);
      await m.start();
    }
  } catch (err) {
    await Promise.all([...members.values()].map((m) => m.stop().catch(() => undefined)));
    throw err;
  }
  const first = members.get(names[0]!)!;
  if (opts.seedExample ?? true) {
    first.store.create(first.resource('namespaces'), { metadata: { name: EXAMPLE_APP.namespace } }, undefined);
    first.store.create(
      first.resource('configmaps'),
      { metadata: { name: 'web-config', namespace: EXAMPLE_APP.namespace }, data: { 'greeting.txt': 'hello from the federation source\n' } },
      EXAMPLE_APP.namespace,
      { manager: 'flotilla-sim' },
    );
  }

  const infos: SimMemberInfo[] = [];
  const simJson: { members: Record<string, { api: string; ingress: string; fault: string }> } = { members: {} };
  for (const m of members.values()) {
    const kubeconfig = join(outDir, 'kubeconfigs', `${m.name}.yaml`);
    await writeFile(kubeconfig, kubeconfigYaml(m.name, m.apiUrl, `sim-${randomBytes(12).toString('hex')}`), { mode: 0o600 });
    infos.push({ name: m.name, api: m.apiUrl, ingress: m.ingressUrl, fault: m.faultUrl, kubeconfig });
    simJson.members[m.name] = { api: m.apiUrl, ingress: m.ingressUrl, fault: m.faultUrl };
  }
  const federationFile = join(outDir, 'federation.yaml');
  await writeFile(
    federationFile,
    `# Written by \`cluster-mgr sim\`: members are simulated clusters on loopback (see docs/sim.md).\n${stringify(federationDoc(names))}`,
  );
  const simFile = join(outDir, 'sim.json');
  await writeFile(simFile, `${JSON.stringify(simJson, null, 2)}\n`);

  let haproxyFile: string | undefined;
  let haproxyError: string | undefined;
  const render = opts.renderFront;
  if (render) {
    try {
    const port = opts.frontPort ?? (await freeLoopbackPort(host));
    const content = render({
      comment: ['Front load balancer for `cluster-mgr sim` members (loopback ingress endpoints).'],
      backends: [
        {
          name: 'web',
          mode: 'http',
          bindAddress: host,
          bindPort: port,
          servers: [...members.values()].map((m) => ({ name: m.name, address: host, port: Number(new URL(m.ingressUrl).port) })),
          healthCheck: { path: '/healthz' },
        },
      ],
      socketPath: join(outDir, 'haproxy.sock'),
      log: 'stdout format raw local0',
    });
      haproxyFile = join(outDir, 'haproxy.cfg');
      await writeFile(haproxyFile, content);
    } catch (err) {
      // The front config is a convenience: the members work without it.
      haproxyError = (err as Error).message;
    }
  }

  const get = (name: string): SimMember => {
    const m = members.get(name);
    if (!m) throw new Error(`no simulated member named ${JSON.stringify(name)} (members: ${names.join(', ')})`);
    return m;
  };
  let stopped = false;
  return {
    members: infos,
    outDir,
    federationFile,
    simFile,
    ...(haproxyFile ? { haproxyFile } : {}),
    ...(haproxyError ? { haproxyError } : {}),
    setFault: async (name, mode, o) => {
      if (!FAULT_MODES.includes(mode)) throw new Error(`unknown fault mode "${mode}": expected one of ${FAULT_MODES.join(', ')}`);
      await get(name).setFault(mode, o);
    },
    member: get,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all([...members.values()].map((m) => m.stop()));
    },
  };
}

