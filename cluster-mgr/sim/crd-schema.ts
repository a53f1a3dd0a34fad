// The FederatedApp CRD's structural schema (constructs/crds/flotilla.dev_federatedapps.yaml,
// spec.versions[v1alpha1].schema.openAPIV3Schema), and pruning of unknown fields the way the real API
// server does it for a structural schema. The schema is read from the CRD file at load time.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { KObject } from './selectors';

export interface StructuralSchema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, StructuralSchema>>;
  readonly additionalProperties?: StructuralSchema | boolean;
  readonly items?: StructuralSchema;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly [k: string]: unknown;
}

let schema: StructuralSchema | undefined;

/**
 * Read from the CRD file itself (once, on first use), so the simulator and the CRD cannot drift
 * apart; lazily, so `cluster-mgr run` never needs the file.
 */
export function federatedAppSchema(): StructuralSchema {
  schema ??= readSchema();
  return schema;
}

function readSchema(): StructuralSchema {
  const file = fileURLToPath(new URL('../../constructs/crds/flotilla.dev_federatedapps.yaml', import.meta.url));
  const crd = parse(readFileSync(file, 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: StructuralSchema } }[] } };
  const v = crd.spec.versions.find((x) => x.name === 'v1alpha1');
  if (!v) throw new Error(`${file}: no v1alpha1 version`);
  return v.schema.openAPIV3Schema;
}

const isObj = (v: unknown): v is KObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Removes, in place, the fields `schema` does not specify (unless it preserves unknown fields). */
export function prune(value: unknown, schema: StructuralSchema | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const x of value) prune(x, schema.items);
    return;
  }
  if (!isObj(value)) return;
  const props = schema.properties;
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const k of Object.keys(value)) {
    const sub = props?.[k];
    if (sub) prune(value[k], sub);
    else if (extra) prune(value[k], extra);
    else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) delete value[k];
  }
}

/** Prunes a FederatedApp in place; apiVersion, kind and metadata are the server's (not pruned here). */
export function pruneFederatedApp(obj: KObject): void {
  const props = federatedAppSchema().properties ?? {};
  for (const k of Object.keys(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    if (props[k]) prune(obj[k], props[k]);
    else delete obj[k];
  }
}
