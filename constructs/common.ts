// Shared helpers for the platform constructs: typed core objects, secure container defaults and
// constructor validation messages that name the prop, the value given and what was expected.
import { ApiObject, type ApiObjectProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import { parseDuration, parseQuantity } from '../infra/site/units';

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

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkLabel(construct: string, prop: string, value: string): void {
  if (value.length > 63 || !DNS_LABEL.test(value)) throw new PropError(construct, prop, value, 'a DNS-1123 label (lowercase letters, digits, "-")');
}
export function checkDnsName(construct: string, prop: string, value: string): void {
  if (value.length > 253 || !DNS_NAME.test(value)) throw new PropError(construct, prop, value, 'a DNS name such as "bj1.example.com"');
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

/** Requests and limits for a small container; every container we define carries both. */
export function resources(cpu: string, memory: string, cpuLimit = cpu, memoryLimit = memory): IResourceRequirements {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}

/** Pod security context: non-root with the runtime's default seccomp profile. */
export function podSecurity(uid = 65532): IPodSecurityContext {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } };
}

/** A container with secure defaults: non-root, read-only root fs, no privilege escalation, no capabilities. */
export function secureContainer(c: IContainer & { resources: IResourceRequirements }): IContainer {
  return {
    imagePullPolicy: 'IfNotPresent',
    ...c,
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      ...c.securityContext,
    },
  };
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
