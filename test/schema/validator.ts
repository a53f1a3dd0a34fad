// Manifest schema validation for tests: core kinds with kubernetes-models, custom kinds with the
// CRD's openAPIV3Schema (ajv) from ../shared/crds/** and constructs/crds/**. An unknown kind is a
// failure. Unknown fields are failures too (like `kubectl apply --validate=strict`), except under
// `x-kubernetes-preserve-unknown-fields`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as k8sModels from '@kubernetes/client-node';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, sharedDir } from '../lab/shared';

const require = createRequire(import.meta.url);
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

/** The shared folder (`../shared` beside the repository, or `FLOTILLA_SHARED`); see test/lab/shared.ts. */
export const SHARED_DIR = sharedDir();
export const CRD_DIRS = [join(SHARED_DIR, 'crds'), resolve(REPO_ROOT, 'constructs', 'crds')];

export interface ValidationResult {
  readonly ok: boolean;
  /** `core` (kubernetes-models), `crd` (ajv), or `unknown`. */
  readonly via: 'core' | 'crd' | 'unknown';
  readonly errors: string[];
}

type Schema = Record<string, unknown>;

interface Attr {
  readonly baseName: string;
  readonly type: string;
}
type ModelClass = { getAttributeTypeMap(): Attr[] };
const models = k8sModels as unknown as Record<string, ModelClass | undefined>;

/** Unknown fields of `value` against the client-node model `type` (e.g. `V1Deployment`), as paths. */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  if (value === null || value === undefined) return [];
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, arr[1]!, `${path}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return typeof value === 'object' ? Object.entries(value as object).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`)) : [];
  const model = models[type];
  if (!model || typeof model.getAttributeTypeMap !== 'function' || typeof value !== 'object' || Array.isArray(value)) return [];
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value as object).flatMap(([k, v]) => {
    const t = attrs.get(k);
    if (t === undefined) return [`${path || '/'}${path ? '.' : ''}${k}: unknown field of ${type}`];
    // free-form by design: JSON schema bodies and values
    if (type === 'V1JSONSchemaProps' || t === 'any' || t === 'object') return [];
    return unknownFields(v, t, path ? `${path}.${k}` : k);
  });
}

/** client-node model name of a core kind: `apps/v1` Deployment → `V1Deployment`. */
function coreModelName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').pop()!;
  const name = `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
  return models[name] ? name : undefined;
}

/**
 * CRD patterns are Go RE2: translate the inline `(?i)` flag (to the whole pattern); RE2 has no lookarounds, so anything
 * else is valid JS as well.
 */
const goRegExp = Object.assign(
  (source: string, flags: string): RegExp => {
    if (source.includes('(?i)')) return new RegExp(source.replaceAll('(?i)', ''), `${flags}i`);
    return new RegExp(source, flags);
  },
  { code: 'goRegExp' },
);

/** Every .yaml/.yml file below `dir`, sorted (none when it does not exist). */
export function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e)) out.push(p);
  }
  return out;
}

/** Adds `additionalProperties: false` wherever the API server would prune unknown fields. */
function strictify(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strictify);
  if (!s || typeof s !== 'object') return s;
  const o: Schema = {};
  for (const [k, v] of Object.entries(s as Schema)) {
    o[k] = k === 'properties' && v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Schema).map(([pk, pv]) => [pk, strictify(pv)])) : strictify(v);
  }
  // OpenAPI 3.0 (what CRDs use) → the JSON Schema ajv speaks.
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof o[flag] === 'boolean') {
      if (o[flag] === true && typeof o[bound] === 'number') o[flag] = o[bound];
      else delete o[flag];
      if (typeof o[flag] === 'number') delete o[bound];
    }
  }
  if (o.nullable === true && typeof o.type === 'string') o.type = [o.type, 'null'];
  if (o.properties && o.additionalProperties === undefined && o['x-kubernetes-preserve-unknown-fields'] !== true) o.additionalProperties = false;
  return o;
}

export class ManifestValidator {
  private readonly schemas = new Map<string, { schema: Schema; source: string }>();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly ajv: Ajv;

  constructor(crdDirs: readonly string[] = CRD_DIRS) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, logger: false, code: { regExp: goRegExp } });
    addFormats(this.ajv);
    for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password']) {
      if (!this.ajv.formats[f]) this.ajv.addFormat(f, true);
    }
    // Per-resource ECK files (full schemas) win over the patched all-crds.yaml.
    const files = crdDirs.flatMap(yamlFiles).sort((a, b) => Number(!a.endsWith('all-crds.yaml')) - Number(!b.endsWith('all-crds.yaml')));
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const crd = doc.toJS() as { kind?: string; spec?: { group: string; names: { kind: string }; versions: Array<{ name: string; schema?: { openAPIV3Schema?: Schema } }> } } | null;
        if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
        for (const v of crd.spec.versions) {
          if (!v.schema?.openAPIV3Schema) continue;
          this.schemas.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, { schema: v.schema.openAPIV3Schema, source: file });
        }
      }
    }
  }

  /** Kinds known from CRDs, e.g. `monitoring.coreos.com/v1/PrometheusRule`. */
  get customKinds(): string[] {
    return [...this.schemas.keys()].sort();
  }

  private coreModel(apiVersion: string, kind: string): (new (data: unknown) => { validate(): void }) | undefined {
    if (!/^[a-z0-9.]+\/?[a-z0-9]*$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
    try {
      const mod = require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, unknown>;
      return mod[kind] as new (data: unknown) => { validate(): void };
    } catch {
      return undefined;
    }
  }

  validate(obj: unknown): ValidationResult {
    const o = obj as { apiVersion?: unknown; kind?: unknown };
    if (typeof o?.apiVersion !== 'string' || typeof o.kind !== 'string') return { ok: false, via: 'unknown', errors: ['missing apiVersion or kind'] };
    const { apiVersion, kind } = o as { apiVersion: string; kind: string };
    const key = `${apiVersion}/${kind}`;
    const custom = this.schemas.get(key);
    if (custom) {
      let fn = this.compiled.get(key);
      if (!fn) {
        const root = strictify(custom.schema) as Schema;
        // The API server always accepts these at the root, whether or not the schema lists them.
        root.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...(root.properties as Schema) };
        fn = this.ajv.compile(root);
        this.compiled.set(key, fn);
      }
      const ok = fn(obj) as boolean;
      return { ok, via: 'crd', errors: ok ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`) };
    }
    const Model = this.coreModel(apiVersion, kind);
    if (Model) {
      try {
        new Model(obj).validate();
      } catch (e) {
        return { ok: false, via: 'core', errors: [(e as Error).message] };
      }
      const modelName = coreModelName(apiVersion, kind);
      const unknown = modelName ? unknownFields(obj, modelName) : [];
      return { ok: unknown.length === 0, via: 'core', errors: unknown };
    }
    return { ok: false, via: 'unknown', errors: [`unknown kind ${key}: no kubernetes-models class and no CRD schema`] };
  }
}
