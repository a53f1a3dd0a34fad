// Patch semantics: JSON merge patch (RFC 7386), the strategic-merge subset, JSON patch (RFC 6902),
// and the field-ownership bookkeeping behind server-side apply. Pure functions over plain JSON.
import { badRequest, ApiError } from './errors';
import type { KObject } from './selectors';

const isObj = (v: unknown): v is KObject => v !== null && typeof v === 'object' && !Array.isArray(v);
export const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: KObject = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge, the subset kubectl sends: like a merge patch, but lists of objects that carry a
 * `name` merge by name (containers, env, ports, volumes), and `$`-directives are honoured for
 * `$patch: delete|replace` and otherwise dropped (`$setElementOrder/...`, `$retainKeys`).
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return stripDirectives(rest);
  }
  const out: KObject = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else if (Array.isArray(v) && Array.isArray(out[k]) && isNamedList(v) && isNamedList(out[k] as unknown[])) {
      const cur = (out[k] as KObject[]).slice();
      for (const item of v as KObject[]) {
        const i = cur.findIndex((c) => c.name === item.name);
        if (item.$patch === 'delete') {
          if (i >= 0) cur.splice(i, 1);
        } else if (i >= 0) cur[i] = strategicMergePatch(cur[i], item) as KObject;
        else cur.push(stripDirectives(item) as KObject);
      }
      out[k] = cur;
    } else out[k] = strategicMergePatch(out[k], v);
  }
  return out;
}

const isNamedList = (l: unknown[]) => l.length > 0 && l.every((x) => isObj(x) && typeof x.name === 'string');

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const out: KObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

// ---- RFC 6902 -----------------------------------------------------------------------------

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

const decodePointer = (p: string): string[] => {
  if (p === '') return [];
  if (!p.startsWith('/')) throw badRequest(`json patch: invalid path "${p}": must start with "/"`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
};

function parentOf(doc: unknown, parts: string[], path: string): { parent: KObject | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObj(cur)) cur = cur[part];
    else cur = undefined;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `json patch: path "${path}" does not exist`);
  }
  if (!Array.isArray(cur) && !isObj(cur)) throw new ApiError(422, 'Invalid', `json patch: path "${path}" does not exist`);
  return { parent: cur, key: parts[parts.length - 1] ?? '' };
}

function getAt(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of decodePointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObj(cur)) cur = cur[part];
    else cur = undefined;
  }
  return cur;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch: body must be an array of operations');
  let doc = clone(target);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObj(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string')
      throw badRequest('json patch: each operation needs "op" and "path"');
    const parts = decodePointer(raw.path);
    const add = (value: unknown) => {
      if (parts.length === 0) {
        doc = clone(value);
        return;
      }
      const { parent, key } = parentOf(doc, parts, raw.path);
      if (Array.isArray(parent)) {
        const i = key === '-' ? parent.length : Number(key);
        if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new ApiError(422, 'Invalid', `json patch: index out of range in "${raw.path}"`);
        parent.splice(i, 0, clone(value));
      } else parent[key] = clone(value);
    };
    const remove = () => {
      const { parent, key } = parentOf(doc, parts, raw.path);
      if (Array.isArray(parent)) {
        const i = Number(key);
        if (!(i >= 0 && i < parent.length)) throw new ApiError(422, 'Invalid', `json patch: index out of range in "${raw.path}"`);
        parent.splice(i, 1);
      } else {
        if (!(key in parent)) throw new ApiError(422, 'Invalid', `json patch: unable to remove nonexistent key "${key}" at "${raw.path}"`);
        delete parent[key];
      }
    };
    switch (raw.op) {
      case 'add':
        add(raw.value);
        break;
      case 'remove':
        remove();
        break;
      case 'replace':
        remove();
        add(raw.value);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, raw.path), raw.value)) throw new ApiError(422, 'Invalid', `json patch: test operation failed at "${raw.path}"`);
        break;
      case 'move':
      case 'copy': {
        const value = getAt(doc, raw.from ?? '');
        if (value === undefined) throw new ApiError(422, 'Invalid', `json patch: "from" path "${raw.from}" does not exist`);
        if (raw.op === 'move') {
          const fromParts = decodePointer(raw.from ?? '');
          const { parent, key } = parentOf(doc, fromParts, raw.from ?? '');
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
        }
        add(value);
        break;
      }
      default:
        throw badRequest(`json patch: unknown op "${raw.op}"`);
    }
  }
  return doc;
}

// ---- field ownership (server-side apply) ---------------------------------------------------

/**
 * A field path: object keys, and for associative lists (below) one segment per item, keyed like the
 * real server's fieldsV1 (`k:{"name":"a"}`). Other lists are owned whole (atomic).
 */
export type FieldPath = string[];
const SEP = '\u0000';
/** Marks a list-item segment (followed by the canonical JSON of the item's key fields). */
const ITEM = '\u0001';
export const pathKey = (p: FieldPath) => p.join(SEP);
export const keyPath = (k: string): FieldPath => (k === '' ? [] : k.split(SEP));

/**
 * Associative lists of the built-in types (`x-kubernetes-list-type: map` in the real OpenAPI), by field
 * name, with their key fields. Custom resources keep lists atomic (their CRD schema says so).
 */
export const LIST_MAP_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  ports: ['containerPort', 'protocol'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  resourceClaims: ['name'],
};

export interface FieldOptions {
  /** Include `status` (writes to the status subresource, controllers). */
  readonly includeStatus?: boolean;
  /** Merge associative lists by key (built-in types). @default true */
  readonly keyed?: boolean;
}

/** Key values of a list item, with the API server's default (`protocol: TCP` for ports). */
function itemKey(field: string, item: unknown): Record<string, unknown> | undefined {
  const keys = LIST_MAP_KEYS[field];
  if (!keys || !isObj(item)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of [...keys].sort()) {
    let v = item[k];
    if (v === undefined && field === 'ports' && k === 'protocol') v = 'TCP';
    if (v === undefined || v === null || typeof v === 'object') return undefined;
    out[k] = v;
  }
  return out;
}

/** The item segments of a list, when it is an associative list whose items all carry their keys. */
function itemSegments(field: string | undefined, list: unknown[], keyed: boolean): string[] | undefined {
  if (!keyed || field === undefined || !LIST_MAP_KEYS[field] || list.length === 0) return undefined;
  const segs: string[] = [];
  for (const item of list) {
    const k = itemKey(field, item);
    if (!k) return undefined;
    segs.push(`${ITEM}${JSON.stringify(k)}`);
  }
  return new Set(segs).size === segs.length ? segs : undefined;
}

const isItemSeg = (s: string) => s.startsWith(ITEM);
const segKeys = (s: string) => JSON.parse(s.slice(ITEM.length)) as Record<string, unknown>;

function findItem(list: unknown[], seg: string, field: string | undefined): number {
  const want = seg.slice(ITEM.length);
  return list.findIndex((item) => {
    const k = itemKey(field ?? '', item);
    return !!k && JSON.stringify(k) === want;
  });
}

/** `.spec.template.spec.containers[name="a"].image`, as the real server names fields in conflicts. */
export function fieldString(path: FieldPath): string {
  return path
    .map((s) =>
      isItemSeg(s)
        ? `[${Object.entries(segKeys(s))
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`
        : `.${s}`,
    )
    .join('');
}

const META_OWNED = new Set(['labels', 'annotations', 'ownerReferences', 'finalizers']);

/** The leaf fields an object sets (scalars, atomic lists, empty objects), excluding identity and status. */
export function leafFields(obj: KObject, opts: FieldOptions = {}): Set<string> {
  const keyed = opts.keyed ?? true;
  const out = new Set<string>();
  const walk = (v: unknown, path: FieldPath) => {
    if (isObj(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
      return;
    }
    if (Array.isArray(v)) {
      const segs = itemSegments(path[path.length - 1], v, keyed);
      if (segs) {
        v.forEach((item, i) => walk(item, [...path, segs[i]!]));
        return;
      }
    }
    out.add(pathKey(path));
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !opts.includeStatus) continue;
    if (k === 'metadata') {
      if (isObj(v)) for (const mk of Object.keys(v)) if (META_OWNED.has(mk)) walk(v[mk], ['metadata', mk]);
      continue;
    }
    walk(v, [k]);
  }
  return out;
}

/** Value at a field path (undefined when absent). */
export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur = obj;
  let field: string | undefined;
  for (const p of path) {
    if (isItemSeg(p)) {
      if (!Array.isArray(cur)) return undefined;
      const i = findItem(cur, p, field);
      if (i < 0) return undefined;
      cur = cur[i];
      continue;
    }
    if (!isObj(cur)) return undefined;
    cur = cur[p];
    field = p;
  }
  return cur;
}

/**
 * Removes the value at a path, and parents that become empty objects or lists. Removing a key field
 * of a list item removes the item (nobody owns it any more).
 */
export function deleteAt(obj: KObject, path: FieldPath): void {
  if (path.length === 0) return;
  const del = (node: unknown, i: number, field: string | undefined): boolean => {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isItemSeg(seg)) {
      if (!Array.isArray(node)) return false;
      const idx = findItem(node, seg, field);
      if (idx < 0) return false;
      if (last || (i + 1 === path.length - 1 && path[i + 1]! in segKeys(seg))) node.splice(idx, 1);
      else if (del(node[idx], i + 1, field)) node.splice(idx, 1);
      return node.length === 0;
    }
    if (!isObj(node)) return false;
    if (last) delete node[seg];
    else if (del(node[seg], i + 1, seg)) delete node[seg];
    return Object.keys(node).length === 0;
  };
  del(obj, 0, undefined);
}

/** Leaf fields whose values differ between two objects (set, changed or removed). */
export function changedFields(before: KObject | undefined, after: KObject, opts: FieldOptions = {}): Set<string> {
  const a = before ? leafFields(before, opts) : new Set<string>();
  const b = leafFields(after, opts);
  const out = new Set<string>();
  for (const k of b) if (!a.has(k) || !deepEqual(valueAt(before, keyPath(k)), valueAt(after, keyPath(k)))) out.add(k);
  for (const k of a) if (!b.has(k)) out.add(k);
  return out;
}

/**
 * Server-side apply's merge: maps merge, associative lists merge item by item (by key), scalars and
 * other lists replace; nulls in the applied configuration are dropped.
 */
export function applyMerge(cur: unknown, applied: unknown, opts: { keyed?: boolean } = {}, field?: string): unknown {
  const keyed = opts.keyed ?? true;
  if (applied === null) return cur;
  if (isObj(applied)) {
    const out: KObject = isObj(cur) ? clone(cur) : {};
    for (const [k, v] of Object.entries(applied)) {
      if (v === null) continue;
      out[k] = applyMerge(out[k], v, opts, k);
    }
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(cur)) {
    const segsA = itemSegments(field, applied, keyed);
    const segsC = itemSegments(field, cur, keyed);
    if (segsA && segsC) {
      const out = clone(cur) as unknown[];
      applied.forEach((item, i) => {
        const at = findItem(out, segsA[i]!, field);
        if (at >= 0) out[at] = applyMerge(out[at], item, opts);
        else out.push(applyMerge(undefined, item, opts));
      });
      return out;
    }
  }
  return Array.isArray(applied) ? applied.map((x) => applyMerge(undefined, x, opts)) : applied;
}

/** fieldsV1 encoding of a set of leaf paths: `{"f:spec":{"f:replicas":{}}}`, list items as `k:{…}` with `.`. */
export function encodeFieldsV1(fields: Iterable<string>): KObject {
  const root: KObject = {};
  for (const k of [...fields].sort()) {
    let cur = root;
    for (const p of keyPath(k)) {
      if (isItemSeg(p)) {
        cur = (cur[`k:${p.slice(ITEM.length)}`] ??= {}) as KObject;
        cur['.'] ??= {};
      } else cur = (cur[`f:${p}`] ??= {}) as KObject;
    }
  }
  return root;
}

/** Inverse of encodeFieldsV1 (`.` markers are dropped; `v:` set items are treated as the list itself). */
export function decodeFieldsV1(f: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: FieldPath) => {
    const keys = isObj(node) ? Object.keys(node).filter((k) => k.startsWith('f:') || k.startsWith('k:')) : [];
    if (keys.length === 0) {
      if (path.length > 0) out.add(pathKey(path));
      return;
    }
    for (const k of keys) walk((node as KObject)[k], [...path, k.startsWith('k:') ? `${ITEM}${canonicalKey(k.slice(2))}` : k.slice(2)]);
  };
  walk(f, []);
  return out;
}

/** Re-serialises a `k:` key with sorted fields (what itemKey produces). */
function canonicalKey(json: string): string {
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    return JSON.stringify(Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]])));
  } catch {
    return json;
  }
}
