// Shared helpers for the platform constructs: typed objects cdk8s-plus-27 does not model, the secure
// defaults and escape hatches for the cdk8s-plus-27 workloads, and
// constructor validation messages that name the prop, the value given and what was expected.
import { ApiObject, JsonPatch, Size, type ApiObjectProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import { isDnsLabel, isDnsName } from '../infra/lib/dns';
import { parseDuration, parseQuantity } from '../infra/lib/units';

/** The labels kube-prometheus-stack's Prometheus selects its monitors, rules and probes by. */
export const PROMETHEUS_RELEASE_LABELS: Readonly<Record<string, string>> = { release: 'kube-prometheus-stack' };

/** The prop of a construct that ships its own ServiceMonitor or PodMonitor. */
export interface MonitoringLabelsProps {
  /**
   * Labels on this construct's ServiceMonitor/PodMonitor, so the Prometheus monitor selector matches it.
   * @default - PROMETHEUS_RELEASE_LABELS ({ release: 'kube-prometheus-stack' })
   */
  readonly monitoringLabels?: Readonly<Record<string, string>>;
}

/** A Kubernetes object with apiVersion/kind (kubernetes-models interfaces satisfy this). */
export interface TypedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** Adds a plain (typed) Kubernetes object to `scope`. */
export function apiObject<T extends TypedObject>(scope: Construct, id: string, obj: T): ApiObject {
  return new ApiObject(scope, id, obj as unknown as ApiObjectProps);
}

/** Thrown by constructors for invalid props: `<Construct>.<prop>: got <value>, expected <what>`. */
export class PropError extends Error {
  constructor(construct: string, prop: string, value: unknown, expected: string) {
    super(`${construct}.${prop}: got ${JSON.stringify(value)}, expected ${expected}`);
    this.name = 'PropError';
  }
}


export function checkLabel(construct: string, prop: string, value: string): void {
  if (!isDnsLabel(value)) throw new PropError(construct, prop, value, 'a DNS-1123 label (lowercase letters, digits, "-")');
}
/** checkLabel for every prop → value, in order. */
export function checkLabels(construct: string, values: Readonly<Record<string, string>>): void {
  for (const [prop, value] of Object.entries(values)) checkLabel(construct, prop, value);
}
export function checkDnsName(construct: string, prop: string, value: string): void {
  if (!isDnsName(value)) throw new PropError(construct, prop, value, 'a DNS name such as "bj1.example.com"');
}
export function checkPositiveInt(construct: string, prop: string, value: number, max = 1_000_000): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new PropError(construct, prop, value, `a whole number from 1 to ${max}`);
}
export function checkQuantity(construct: string, prop: string, value: string): void {
  const q = parseQuantity(value);
  if (q === undefined || q <= 0) {
    throw new PropError(construct, prop, value, 'a positive quantity such as "100Gi"');
  }
}

/** Requests and limits as plain Kubernetes values, for pod templates of custom resources and chart values. */
export function resources(cpu: string, memory: string, cpuLimit = cpu, memoryLimit = memory): IResourceRequirements {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}

function cpuOf(v: string): kplus.Cpu {
  const m = /^(\d+)(m?)$/.exec(v);
  if (!m) throw new Error(`containerResources: CPU "${v}" is not whole cores or millicores`);
  return m[2] ? kplus.Cpu.millis(Number(m[1])) : kplus.Cpu.units(Number(m[1]));
}
function memoryOf(v: string): Size {
  const m = /^(\d+)(Mi|Gi)$/.exec(v);
  if (!m) throw new Error(`containerResources: memory "${v}" is not in Mi or Gi`);
  return m[2] === 'Mi' ? Size.mebibytes(Number(m[1])) : Size.gibibytes(Number(m[1]));
}

/**
 * Requests and limits of a container we define (cdk8s-plus form); every one carries both.
 * CPU in whole cores ("1") or millicores ("100m"), memory in Mi or Gi (plus renders memory in Mi).
 */
export function containerResources(cpu: string, memory: string, cpuLimit = cpu, memoryLimit = memory): kplus.ContainerResources {
  return { cpu: { request: cpuOf(cpu), limit: cpuOf(cpuLimit) }, memory: { request: memoryOf(memory), limit: memoryOf(memoryLimit) } };
}

/** Pod security context: non-root as `uid` (the runtime's default seccomp profile is added by `hardenPod`). */
export function podSecurity(uid = 65532): kplus.PodSecurityContextProps {
  return { ensureNonRoot: true, user: uid, group: uid, fsGroup: uid };
}

/**
 * A container with secure defaults: non-root, read-only root fs, no privilege escalation (all
 * capabilities are dropped by `hardenPod`), pulled only when missing. cdk8s-plus defaults to most
 * of these too; they are spelled out so a change of library defaults cannot loosen them.
 */
export function secureContainer(c: kplus.ContainerProps & { readonly resources: kplus.ContainerResources }): kplus.ContainerProps {
  return {
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    ...c,
    securityContext: { ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, ...c.securityContext },
  };
}

/**
 * The pod of a Job that runs one shell script: no service account token, non-root as `uid`, and one
 * hardened container running `/bin/sh <script>` (the script comes from a mounted ConfigMap).
 */
export function scriptPod(
  uid: number,
  script: string,
  c: Omit<kplus.ContainerProps, 'command'> & { readonly resources: kplus.ContainerResources },
): Pick<kplus.AbstractPodProps, 'automountServiceAccountToken' | 'securityContext' | 'containers'> {
  return { automountServiceAccountToken: false, securityContext: podSecurity(uid), containers: [secureContainer({ ...c, command: ['/bin/sh', script] })] };
}

/** JSON pointer of the pod spec inside a workload object. */
function podSpecPath(w: kplus.Workload): string {
  return w instanceof kplus.CronJob ? '/spec/jobTemplate/spec/template/spec' : '/spec/template/spec';
}

/**
 * What cdk8s-plus-27 cannot express on the pods we define, added through its escape hatch
 * (`ApiObject.of(x).addJsonPatch`):
 * - the pod's `securityContext.seccompProfile: RuntimeDefault` (plus's PodSecurityContextProps has no
 *   seccomp field);
 * - container capabilities by their Kubernetes names — `drop: [ALL]` plus `add` per container name:
 *   plus's `Capability` enum has only "CAP_"-prefixed names and no "ALL", while Pod Security
 *   Admission (restricted) looks for the literal "ALL".
 * plus serializes through its typed k8s 1.27 model after the patches run, so a patch may only set
 * fields that model knows (these do).
 */
export function hardenPod(w: kplus.Workload, add: Readonly<Record<string, readonly string[]>> = {}): void {
  const pod = podSpecPath(w);
  const obj = ApiObject.of(w);
  obj.addJsonPatch(JsonPatch.add(`${pod}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
  w.containers.forEach((c, i) => {
    const extra = add[c.name];
    obj.addJsonPatch(JsonPatch.add(`${pod}/containers/${i}/securityContext/capabilities`, { drop: ['ALL'], ...(extra ? { add: [...extra] } : {}) }));
  });
}

/**
 * Selects the workload's pods by our own labels only. cdk8s-plus would select on (and label pods
 * with) `cdk8s.io/metadata.addr`, a value derived from the construct path: a Deployment's or
 * DaemonSet's selector is immutable on a live cluster, and a path-derived pod label would roll the
 * pods whenever a construct is renamed. So: `select: false` at construction (see
 * `podLabels`), our labels as the selector, and the address label removed from the pod template.
 */
export function selectByLabels(w: kplus.Workload, lbl: Readonly<Record<string, string>>): void {
  w.select(kplus.LabelSelector.of({ labels: { ...lbl } }));
  dropAddressLabel(w);
}

/** Workload props that label the pods with `lbl` and leave selection to `selectByLabels`. */
export function podLabels(lbl: Readonly<Record<string, string>>): Pick<kplus.WorkloadProps, 'select' | 'podMetadata'> {
  return { select: false, podMetadata: { labels: { ...lbl } } };
}

/**
 * Removes plus's `cdk8s.io/metadata.addr` pod label (see `selectByLabels`); a pod template without
 * labels of ours (`ownLabels` false: our Jobs and CronJobs) loses its then empty metadata.
 */
export function dropAddressLabel(w: kplus.Workload, ownLabels = true): void {
  const metadata = `${podSpecPath(w).slice(0, -'/spec'.length)}/metadata`;
  const addr = kplus.Pod.ADDRESS_LABEL.replaceAll('~', '~0').replaceAll('/', '~1');
  ApiObject.of(w).addJsonPatch(JsonPatch.remove(ownLabels ? `${metadata}/labels/${addr}` : metadata));
}

/** Standard labels for objects a construct owns. */
export function labels(component: string, instance: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/managed-by': 'flotilla',
  };
}

export function checkDuration(construct: string, prop: string, value: string): void {
  if (parseDuration(value) === undefined) throw new PropError(construct, prop, value, 'a duration such as "500ms", "10s", "1m"');
}
