// A real Kubernetes control plane for tests, built from the upstream binaries scripts/setup caches:
// etcd (own data dir) + kube-apiserver (secure port, generated CA, serving cert, service-account
// signing key, admin client cert, a static admin token) + kube-controller-manager + kube-scheduler +
// kwok (fake nodes the real scheduler binds pods to; their pods turn Running and Ready).
//
//   const cp = await startControlPlane({ name: 'm1', nodes: [{ name: 'w1', cpu: '4', memory: '8Gi' }] });
//   cp.kubeconfigPath   // TLS verified, admin client certificate
//   await cp.stop();    // every process, and the data, gone (also on worker exit)
//
// Several run side by side: every port is taken from the kernel and every file lives in the control
// plane's own folder. A start that fails names the binary, its log file and the likely fix, stops
// what was started, removes the data and keeps only the logs (under LAB_LOG_ROOT).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { registerCleanup } from './cleanup';
import { makeDir, startDaemon, type Daemon } from './daemon';
import { run, type RunResult } from './exec';
import { k8sBinary, type K8sBinary } from './k8s-assets';
import { freePorts } from './ports';

export interface LabTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface LabNodeSpec {
  readonly name: string;
  /** @default '4' */
  readonly cpu?: string;
  /** @default '8Gi' */
  readonly memory?: string;
  /** @default 110 */
  readonly pods?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly LabTaint[];
  /** Cordoned (`spec.unschedulable`). @default false */
  readonly unschedulable?: boolean;
}

export interface ControlPlaneOptions {
  /** Names the folder, the logs and the kubeconfig context. */
  readonly name: string;
  /** kwok nodes, created before start returns and Ready by then. @default one 4-CPU/8Gi worker */
  readonly nodes?: readonly LabNodeSpec[];
  /** Serve on [::1] instead of 127.0.0.1 (the server URL is then an IPv6 literal). @default false */
  readonly ipv6?: boolean;
  /** Extra kube-apiserver flags (`--name=value`). */
  readonly apiserverArgs?: readonly string[];
  /** Skip controller-manager, scheduler and kwok (API-only tests start faster). @default false */
  readonly apiOnly?: boolean;
  /** Start timeout per component. @default 60 s */
  readonly timeoutMs?: number;
  /** kube-apiserver secure port. @default - a free port from the kernel */
  readonly port?: number;
  /** Extra etcd flags. */
  readonly etcdArgs?: readonly string[];
}

export interface ControlPlane {
  readonly name: string;
  readonly dir: string;
  /** https://127.0.0.1:PORT (or https://[::1]:PORT). */
  readonly server: string;
  readonly host: string;
  readonly port: number;
  /** Kubeconfig (YAML) with the CA and the admin client certificate (system:masters). */
  readonly kubeconfig: string;
  readonly kubeconfigPath: string;
  readonly caPath: string;
  readonly caPem: string;
  readonly adminCertPath: string;
  readonly adminKeyPath: string;
  /** A static bearer token for user `lab-admin` in `system:masters` (kube-apiserver --token-auth-file). */
  readonly adminToken: string;
  readonly daemons: Readonly<Record<string, Daemon>>;
  /** Runs the lab's kubectl against this control plane. */
  kubectl(args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** An authenticated admin request to the API server. */
  api<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: T }>;
  addNodes(nodes: readonly LabNodeSpec[]): Promise<void>;
  /** The API server process alone (for fault tests: SIGKILL, SIGSTOP); the current one after a restart. */
  readonly apiserver: Daemon;
  /**
   * Starts kube-apiserver again with the same flags (same port, same etcd, same certificates) after
   * it was killed, and waits for /readyz. Throws if the old process still runs.
   */
  restartApiserver(): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL) and removes the folder with the etcd data. */
  stop(): Promise<void>;
}

export class ControlPlaneStartError extends Error {
  constructor(
    message: string,
    readonly binary: string,
    readonly logFile: string,
  ) {
    super(message);
    this.name = 'ControlPlaneStartError';
  }
}

const LOG_ROOT = process.env.LAB_LOG_ROOT ?? join(tmpdir(), 'flotilla-lab-logs');

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** CA, API serving cert, admin client cert and the service-account key pair (EC P-256: fast). */
function makeCerts(dir: string, host: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=flotilla-lab-ca']);
  const sans = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', 'IP:10.96.0.1', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local'];
  if (host !== '127.0.0.1' && host !== '::1') sans.push(`IP:${host}`);
  writeFileSync(join(dir, 'serving.ext'), `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  openssl(dir, ['req', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver']);
  openssl(dir, ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'apiserver.crt', '-days', '2', '-extfile', 'serving.ext']);
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  openssl(dir, ['req', ...ec, '-keyout', 'admin.key', '-out', 'admin.csr', '-subj', '/O=system:masters/CN=lab-admin']);
  openssl(dir, ['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'admin.crt', '-days', '2', '-extfile', 'client.ext']);
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key']);
  openssl(dir, ['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

/** A kubeconfig for `server`, verified against the CA, with a client cert or a token. */
export function labKubeconfig(o: { name: string; server: string; caPem: string; certPem?: string; keyPem?: string; token?: string; tokenFile?: string }): string {
  const user: Record<string, string> = {};
  if (o.certPem) user['client-certificate-data'] = Buffer.from(o.certPem).toString('base64');
  if (o.keyPem) user['client-key-data'] = Buffer.from(o.keyPem).toString('base64');
  if (o.token) user.token = o.token;
  if (o.tokenFile) user.tokenFile = o.tokenFile;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.name, cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.caPem).toString('base64') } }],
    users: [{ name: `${o.name}-user`, user }],
    contexts: [{ name: o.name, context: { cluster: o.name, user: `${o.name}-user` } }],
    'current-context': o.name,
  });
}

type StageSelector = { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] };

/** A kwok Stage: when an object of `kind` matches every selector, apply `next`. */
function kwokStage(name: string, kind: 'Node' | 'Pod', match: StageSelector[], next: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Stage', metadata: { name }, spec: { resourceRef: { apiGroup: 'v1', kind }, selector: { matchExpressions: match }, next } };
}

const READY_NOT_TRUE: StageSelector = { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: 'NotIn', values: ['True'] };
const NOT_DELETING: StageSelector = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };
const PENDING: StageSelector = { key: '.status.phase', operator: 'In', values: ['Pending'] };
const STUCK = '.metadata.annotations["lab.flotilla.dev/stuck"]';

const NODE_READY_STATUS = `{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
addresses:
{{ with NodeIP }}
- address: {{ . | Quote }}
  type: InternalIP
{{ end }}
{{ with NodeName }}
- address: {{ . | Quote }}
  type: Hostname
{{ end }}
allocatable:
{{ YAML .status.allocatable 1 }}
capacity:
{{ YAML .status.capacity 1 }}
nodeInfo:
  architecture: amd64
  kubeletVersion: lab-kwok
  kubeProxyVersion: lab-kwok
  containerRuntimeVersion: lab-kwok
  kernelVersion: lab-kwok
  operatingSystem: linux
  osImage: lab
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
`;

/** kwok template: one condition line per `[type, status, reason?]`, all at `$now`. */
const conditionsTemplate = (conds: readonly (readonly [string, string, string?])[]) =>
  ['conditions:', ...conds.map(([type, status, reason]) => `- { lastTransitionTime: {{ $now | Quote }}, type: ${type}, status: "${status}"${reason ? `, reason: ${reason}` : ''} }`)].join('\n');

/** kwok template: a status per container of the pod, ready or not, in the given state (YAML flow). */
const containerStatusesTemplate = (ready: boolean, state: string) =>
  ['containerStatuses:', '{{ range .spec.containers }}', `- { image: {{ .image | Quote }}, name: {{ .name | Quote }}, ready: ${ready}, restartCount: 0, started: ${ready}, state: ${state} }`, '{{ end }}'].join('\n');

const POD_READY_STATUS = [
  '{{ $now := Now }}',
  conditionsTemplate([['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True']]),
  containerStatusesTemplate(true, '{ running: { startedAt: {{ $now | Quote }} } }'),
  '{{ with NodeIPWith .spec.nodeName }}',
  'hostIP: {{ . | Quote }}',
  '{{ end }}',
  '{{ with PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}',
  'podIP: {{ . | Quote }}',
  '{{ end }}',
  'phase: Running',
  'startTime: {{ $now | Quote }}',
  '',
].join('\n');

const POD_STUCK_STATUS = [
  '{{ $now := Now }}',
  conditionsTemplate([['Ready', 'False', 'ContainersNotReady']]),
  containerStatusesTemplate(false, "{ waiting: { reason: ImagePullBackOff, message: 'Back-off pulling image {{ .image }}' } }"),
  '',
].join('\n');

// kwok configuration and stages, written for this lab: nodes become Ready with the capacity they
// were created with; pods bound to a kwok node become Running and Ready (unless annotated
// `lab.flotilla.dev/stuck`, which stands for an image that never starts); deleted pods go at once.
const KWOK_CONFIG = [
  {
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokConfiguration',
    // Every option kwok defaults only for its own generated config must be set here.
    options: { nodeLeaseDurationSeconds: 40, nodeLeaseParallelism: 4, podPlayStageParallelism: 4, nodePlayStageParallelism: 4, podsOnNodeSyncParallelism: 1, enablePodsOnNodeSyncListPager: true },
  },
  kwokStage('lab-node-ready', 'Node', [READY_NOT_TRUE], { statusTemplate: NODE_READY_STATUS }),
  kwokStage('lab-pod-ready', 'Pod', [NOT_DELETING, { key: STUCK, operator: 'DoesNotExist' }, PENDING, READY_NOT_TRUE], { statusTemplate: POD_READY_STATUS }),
  kwokStage('lab-pod-stuck', 'Pod', [NOT_DELETING, { key: STUCK, operator: 'Exists' }, PENDING, { key: '.status.containerStatuses', operator: 'DoesNotExist' }], { statusTemplate: POD_STUCK_STATUS }),
  kwokStage('lab-pod-delete', 'Pod', [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }], { delete: true }),
]
  .map((d) => stringify(d))
  .join('---\n');

function nodeObject(n: LabNodeSpec): unknown {
  const cap = { cpu: n.cpu ?? '4', memory: n.memory ?? '8Gi', pods: String(n.pods ?? 110) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', ...n.labels },
    },
    spec: {
      ...(n.taints && n.taints.length > 0 ? { taints: n.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect })) } : {}),
      ...(n.unschedulable ? { unschedulable: true } : {}),
    },
    status: { capacity: cap, allocatable: cap },
  };
}

const FIXES: Record<string, string> = {
  etcd: 'is the etcd data folder writable and are the client/peer ports free? see the log',
  'kube-apiserver': 'a port already in use ("address already in use") or etcd not reachable; see the log',
  'kube-controller-manager': 'check the kubeconfig and the service-account key in the log',
  'kube-scheduler': 'check the kubeconfig in the log',
  kwok: 'check the kwok stage configuration and the kubeconfig in the log',
};

/** `{ 'secure-port': 6443 }` → `['--secure-port=6443']`. */
const flags = (o: Readonly<Record<string, string | number | boolean>>): string[] => Object.entries(o).map(([k, v]) => `--${k}=${v}`);

/** Starts a control plane; on any failure everything started is stopped and the data removed. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const host = opts.ipv6 ? '::1' : '127.0.0.1';
  const urlHost = opts.ipv6 ? '[::1]' : '127.0.0.1';
  const bin = (b: K8sBinary) => k8sBinary(b); // throws with the fix when the assets are missing
  const binaries = { etcd: bin('etcd'), apiserver: bin('kube-apiserver'), kcm: bin('kube-controller-manager'), sched: bin('kube-scheduler'), kwok: bin('kwok'), kubectl: bin('kubectl') };
  const safe = opts.name.replace(/[^a-z0-9-]/gi, '_');
  const dir = makeDir(`cp-${safe}`);
  const daemons: Record<string, Daemon> = {};
  let stopped = false;
  const killAll = () => {
    for (const d of Object.values(daemons)) d.signal('SIGKILL');
  };
  const unregister = registerCleanup(`control plane ${opts.name} (${dir})`, () => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Reverse start order: clients first, etcd last.
    for (const key of ['kwok', 'scheduler', 'controllerManager', 'apiserver', 'etcd']) {
      const d = daemons[key];
      if (d) await d.stop(3000);
    }
    unregister();
  };

  const fail = async (binary: string, d: Daemon | undefined, why: string): Promise<never> => {
    let kept = '';
    if (d) {
      const to = join(LOG_ROOT, `${safe}-${Date.now()}`);
      mkdirSync(to, { recursive: true });
      for (const x of Object.values(daemons)) {
        try {
          cpSync(x.logFile, join(to, x.logFile.split('/').pop()!));
        } catch {
          // no log yet
        }
      }
      kept = join(to, d.logFile.split('/').pop()!);
    }
    // The lines that say why, read before stop() removes the folder.
    const lines = d ? d.logs().trim().split('\n') : [];
    const telling = lines.filter((l) => /error|fail|fatal|flag provided|address already in use|panic/i.test(l));
    const tail = (telling.length > 0 ? telling.slice(-5) : lines.slice(-5)).map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)).join('\n');
    await stop();
    throw new ControlPlaneStartError(
      `control plane ${opts.name}: ${binary} ${why}${kept ? `; log: ${kept}` : ''}; fix: ${FIXES[binary] ?? 'see the log'}${tail ? `\n--- last lines of ${binary}'s log ---\n${tail}` : ''}`,
      binary,
      kept,
    );
  };

  const waitUntil = async (binary: string, d: Daemon | undefined, what: string, cond: () => Promise<boolean>, deps: Daemon[] = []) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (d && !d.isRunning()) return fail(binary, d, `exited before ${what}`);
      for (const dep of deps) if (!dep.isRunning()) return fail(dep.name, dep, `exited while waiting for ${what}`);
      try {
        if (await cond()) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) return fail(binary, d, `did not reach "${what}" within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    makeCerts(dir, host);
  } catch (err) {
    await stop();
    throw new ControlPlaneStartError(`control plane ${opts.name}: openssl failed to make certificates: ${(err as Error).message}; fix: install openssl (scripts/setup)`, 'openssl', '');
  }
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const adminCert = readFileSync(join(dir, 'admin.crt'), 'utf8');
  const adminKey = readFileSync(join(dir, 'admin.key'), 'utf8');
  const adminToken = `lab-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'tokens.csv'), `${adminToken},lab-admin,lab-admin-uid,"system:masters"\n`, { mode: 0o600 });

  const [etcdClient, etcdPeer, freeApiPort] = (await freePorts(3)) as [number, number, number];
  const apiPort = opts.port ?? freeApiPort;
  const server = `https://${urlHost}:${apiPort}`;
  const kubeconfig = labKubeconfig({ name: opts.name, server, caPem, certPem: adminCert, keyPem: adminKey });
  const kubeconfigPath = join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

  const api = <T>(method: string, path: string, body?: unknown, contentType = 'application/json') =>
    new Promise<{ status: number; body: T }>((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = httpsRequest(
        { host, port: apiPort, method, path, ca: caPem, cert: adminCert, key: adminKey, timeout: 10_000, headers: { accept: 'application/json', ...(data !== undefined ? { 'content-type': contentType } : {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // plain text (e.g. /readyz)
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (data !== undefined) req.end(data);
      else req.end();
    });

  // etcd
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  daemons.etcd = startDaemon({
    name: 'etcd',
    command: binaries.etcd,
    dir,
    args: [
      ...flags({
        name: 'lab',
        'data-dir': join(dir, 'etcd-data'),
        'listen-client-urls': etcdUrl,
        'advertise-client-urls': etcdUrl,
        'listen-peer-urls': `http://127.0.0.1:${etcdPeer}`,
        'initial-advertise-peer-urls': `http://127.0.0.1:${etcdPeer}`,
        'initial-cluster': `lab=http://127.0.0.1:${etcdPeer}`,
        'unsafe-no-fsync': true,
        'log-level': 'warn',
        'quota-backend-bytes': 536870912,
        'snapshot-count': 10000,
      }),
      ...(opts.etcdArgs ?? []),
    ],
    env: { GOMAXPROCS: '2' },
  });
  await waitUntil('etcd', daemons.etcd, 'serving /health', () =>
    new Promise((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: etcdClient, path: '/health', timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    }),
  );

  // kube-apiserver
  const startApiserver = () =>
    startDaemon({
      name: 'kube-apiserver',
      command: binaries.apiserver,
      dir,
      args: [
        ...flags({
          'etcd-servers': etcdUrl,
          'bind-address': host,
          'advertise-address': host,
          'secure-port': apiPort,
          'tls-cert-file': join(dir, 'apiserver.crt'),
          'tls-private-key-file': join(dir, 'apiserver.key'),
          'client-ca-file': join(dir, 'ca.crt'),
          'token-auth-file': join(dir, 'tokens.csv'),
          'service-account-key-file': join(dir, 'sa.pub'),
          'service-account-signing-key-file': join(dir, 'sa.key'),
          'service-account-issuer': 'https://kubernetes.default.svc.cluster.local',
          'api-audiences': 'https://kubernetes.default.svc.cluster.local',
          'service-cluster-ip-range': '10.96.0.0/16',
          'authorization-mode': 'RBAC',
          'allow-privileged': true,
          // The lab has no node network: endpoints of the `kubernetes` Service would be loopback.
          'endpoint-reconciler-type': 'none',
          'enable-priority-and-fairness': false,
          profiling: false,
          'shutdown-delay-duration': '0s',
          v: 1,
        }),
        ...(opts.apiserverArgs ?? []),
      ],
      env: { GOMAXPROCS: '2' },
    });
  daemons.apiserver = startApiserver();
  await waitUntil('kube-apiserver', daemons.apiserver, 'serving /readyz', async () => (await api('GET', '/readyz')).status === 200, [daemons.etcd]);

  if (!opts.apiOnly) {
    // Every client component: the admin kubeconfig, no leader election, no serving port of its own.
    const client = (name: string, command: string, own: Record<string, string | number | boolean>, env: NodeJS.ProcessEnv = {}) =>
      startDaemon({ name, command, dir, args: flags({ kubeconfig: kubeconfigPath, ...own }), env: { GOMAXPROCS: '2', ...env } });
    const quiet = { 'leader-elect': false, 'secure-port': 0, profiling: false, v: 1 };
    daemons.controllerManager = client('kube-controller-manager', binaries.kcm, {
      ...quiet,
      'service-account-private-key-file': join(dir, 'sa.key'),
      'root-ca-file': join(dir, 'ca.crt'),
      'cluster-signing-cert-file': join(dir, 'ca.crt'),
      'cluster-signing-key-file': join(dir, 'ca.key'),
      'use-service-account-credentials': false,
      controllers: '*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle,-persistentvolume-attach-detach-controller',
    });
    daemons.scheduler = client('kube-scheduler', binaries.sched, quiet);
    writeFileSync(join(dir, 'kwok.yaml'), KWOK_CONFIG);
    daemons.kwok = client(
      'kwok',
      binaries.kwok,
      { config: join(dir, 'kwok.yaml'), 'manage-all-nodes': false, 'manage-nodes-with-annotation-selector': 'kwok.x-k8s.io/node=fake', cidr: '10.244.0.0/16', 'node-ip': '10.250.0.1' },
      { HOME: dir },
    );
  }

  const addNodes = async (nodes: readonly LabNodeSpec[]) => {
    for (const n of nodes) {
      const r = await api('POST', '/api/v1/nodes', nodeObject(n));
      if (r.status !== 201) throw new Error(`control plane ${opts.name}: creating node ${n.name} → ${r.status}: ${JSON.stringify(r.body)}`);
    }
    if (opts.apiOnly) return;
    const names = new Set(nodes.map((n) => n.name));
    await waitUntil('kwok', daemons.kwok, `nodes ${[...names].join(', ')} Ready`, async () => {
      const r = await api<{ items: { metadata: { name: string }; spec?: { taints?: { key: string }[] }; status?: { conditions?: { type: string; status: string }[] } }[] }>('GET', '/api/v1/nodes');
      // Ready, and the node lifecycle controller has lifted its not-ready taint (else pods wait).
      const ready = r.body.items.filter(
        (n) =>
          names.has(n.metadata.name) &&
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
          (opts.apiOnly || !n.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/not-ready'))),
      );
      return ready.length === names.size;
    });
  };

  if (!opts.apiOnly) {
    // The controller-manager is up once it has made the default ServiceAccount (pods need it).
    await waitUntil(
      'kube-controller-manager',
      daemons.controllerManager,
      'the default ServiceAccount exists',
      async () => (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      [daemons.apiserver!],
    );
    await addNodes(opts.nodes ?? [{ name: `${safe}-worker-1` }]);
    if (!daemons.scheduler!.isRunning()) await fail('kube-scheduler', daemons.scheduler, 'exited');
  } else if (opts.nodes) {
    await addNodes(opts.nodes);
  }

  return {
    name: opts.name,
    dir,
    server,
    host,
    port: apiPort,
    kubeconfig,
    kubeconfigPath,
    caPath: join(dir, 'ca.crt'),
    caPem,
    adminCertPath: join(dir, 'admin.crt'),
    adminKeyPath: join(dir, 'admin.key'),
    adminToken,
    daemons,
    get apiserver() {
      return daemons.apiserver!;
    },
    async restartApiserver() {
      if (stopped) throw new Error(`control plane ${opts.name}: stopped`);
      if (daemons.apiserver!.isRunning()) throw new Error(`control plane ${opts.name}: kube-apiserver (pid ${daemons.apiserver!.pid}) still runs; kill it first`);
      daemons.apiserver = startApiserver();
      await waitUntil('kube-apiserver', daemons.apiserver, 'serving /readyz again', async () => (await api('GET', '/readyz')).status === 200, [daemons.etcd!]);
    },
    kubectl: (args, o = {}) => run(binaries.kubectl, ['--kubeconfig', kubeconfigPath, ...args], { timeoutMs: o.timeoutMs ?? 30_000, ...(o.input !== undefined ? { input: o.input } : {}) }),
    api,
    addNodes,
    stop,
  };
}

/** Starts several control planes side by side (in parallel); stops all if one fails. */
export async function startControlPlanes(specs: readonly ControlPlaneOptions[]): Promise<ControlPlane[]> {
  const results = await Promise.allSettled(specs.map((s) => startControlPlane(s)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<ControlPlane>).value);
}
