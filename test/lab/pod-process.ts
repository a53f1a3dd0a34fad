// A pod's container as a local process, the way the kubelet would start it: the container's exact
// command/args/env (fieldRefs and secretKeyRefs resolved), its ConfigMap/Secret volumes and the
// service-account token materialised as files and bind-mounted at their mountPaths inside a private
// mount namespace (`unshare --mount`; /etc and /run are overlaid there so the mount points can be
// made without touching the host). The one difference from a pod: no network namespace — the
// process shares the host's loopback, so a test may give a listen-address override.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDir, startDaemon, type Daemon } from './daemon';

type Obj = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; optional?: boolean };
}

export interface PodProcessOptions {
  readonly name: string;
  /** The Deployment (apps/v1) as synthesized. */
  readonly deployment: Obj;
  /** The image's ENTRYPOINT (the container has no `command`). */
  readonly entrypoint: readonly string[];
  readonly configMaps: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Service-account mount: token (a real TokenRequest token), CA, namespace. */
  readonly serviceAccount: { readonly token: string; readonly caPem: string };
  /** The API server the pod's KUBERNETES_SERVICE_HOST/PORT name. */
  readonly apiServer: { readonly host: string; readonly port: number };
  /** Replaces an argument (e.g. the listen address: no network namespace here). */
  readonly argOverrides?: Readonly<Record<string, string>>;
  readonly cwd: string;
}

export interface PodProcess {
  readonly proc: Daemon;
  /** Folder of the materialised volumes (`<volume>/` per volume, `serviceaccount/`). */
  readonly dir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
}

/** Starts the Deployment's (only) container as a process. */
export function startPodProcess(o: PodProcessOptions): PodProcess {
  const spec = (o.deployment.spec as { template: { metadata?: { namespace?: string }; spec: { containers: Container[]; volumes?: Volume[] } } }).template.spec;
  const ns = String((o.deployment.metadata as { namespace?: string }).namespace ?? 'default');
  const c = spec.containers[0]!;
  const dir = makeDir(`pod-${o.name}`);
  const podName = `${o.name}-0`;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBERNETES_SERVICE_HOST: o.apiServer.host, KUBERNETES_SERVICE_PORT: String(o.apiServer.port) };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const f = e.valueFrom?.fieldRef?.fieldPath;
    if (f === 'metadata.name') env[e.name] = podName;
    else if (f === 'metadata.namespace') env[e.name] = ns;
    else if (f) throw new Error(`env ${e.name}: fieldRef ${f} is not supported by this helper`);
    const s = e.valueFrom?.secretKeyRef;
    if (s) {
      const v = o.secrets[s.name]?.[s.key];
      if (v === undefined && !s.optional) throw new Error(`env ${e.name}: Secret ${s.name} has no key ${s.key} (the kubelet would not start the container)`);
      if (v !== undefined) env[e.name] = v;
    }
  }
  // Volumes → folders; mounts in mountPath order (parents first), as the kubelet nests them.
  const sources = new Map<string, string>();
  for (const v of spec.volumes ?? []) {
    const folder = join(dir, 'volumes', v.name);
    mkdirSync(folder, { recursive: true });
    const data = v.configMap ? o.configMaps[v.configMap.name] : v.secret ? o.secrets[v.secret.secretName] : undefined;
    if (!data && v.configMap) throw new Error(`volume ${v.name}: ConfigMap ${v.configMap.name} not given`);
    if (!data && v.secret && !v.secret.optional) throw new Error(`volume ${v.name}: Secret ${v.secret.secretName} not given`);
    for (const [k, val] of Object.entries(data ?? {})) writeFileSync(join(folder, k), val, { mode: v.secret ? 0o600 : 0o644 });
    sources.set(v.name, folder);
  }
  const sa = join(dir, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), o.serviceAccount.token, { mode: 0o600 });
  writeFileSync(join(sa, 'ca.crt'), o.serviceAccount.caPem);
  writeFileSync(join(sa, 'namespace'), ns);
  const mounts = [...(c.volumeMounts ?? []).map((m) => ({ src: sources.get(m.name)!, dest: m.mountPath, ro: m.readOnly === true })), { src: sa, dest: '/var/run/secrets/kubernetes.io/serviceaccount', ro: true }].sort(
    (a, b) => a.dest.split('/').length - b.dest.split('/').length || a.dest.localeCompare(b.dest),
  );
  for (const d of ['etc-upper', 'etc-work', 'run-upper', 'run-work']) mkdirSync(join(dir, d));
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    'set -eu',
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${q(join(dir, 'etc-upper'))},workdir=${q(join(dir, 'etc-work'))} /etc`,
    `mount -t overlay overlay -o lowerdir=/run,upperdir=${q(join(dir, 'run-upper'))},workdir=${q(join(dir, 'run-work'))} /run`,
    // every mount point first (a nested one is made inside its parent's volume folder), then read-only
    ...mounts.flatMap((m) => [`mkdir -p ${q(m.dest)}`, `mount --bind ${q(m.src)} ${q(m.dest)}`]),
    ...mounts.filter((m) => m.ro).map((m) => `mount -o remount,bind,ro ${q(m.dest)}`),
    'exec "$@"',
  ].join('\n');
  mkdirSync(join(dir, 'proc'));
  const args = (c.args ?? []).map((a) => o.argOverrides?.[a] ?? a);
  const argv = [...(c.command ?? o.entrypoint), ...args];
  const proc = startDaemon({ name: o.name, command: 'unshare', args: ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...argv], env, dir: join(dir, 'proc') });
  return { proc, dir, env, argv };
}
