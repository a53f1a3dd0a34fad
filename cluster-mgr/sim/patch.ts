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

/** A field path: object keys; lists are owned whole (atomic), a documented simplification. */
export type FieldPath = string[];
const SEP = '\u0000';
export const pathKey = (p: FieldPath) => p.join(SEP);
export const keyPath = (k: string): FieldPath => (k === '' ? [] : k.split(SEP));

const META_OWNED = new Set(['labels', 'annotations', 'ownerReferences', 'finalizers']);

/** The leaf fields an object sets (scalars, lists, empty objects), excluding identity and status. */
export function leafFields(obj: KObject, opts: { includeStatus?: boolean } = {}): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown, path: FieldPath) => {
    if (isObj(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    } else out.add(pathKey(path));
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
  for (const p of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Removes the value at a path, and parents that become empty objects. */
export function deleteAt(obj: KObject, path: FieldPath): void {
  if (path.length === 0) return;
  const stack: KObject[] = [obj];
  let cur: unknown = obj;
  for (const p of path.slice(0, -1)) {
    if (!isObj(cur)) return;
    cur = cur[p];
    if (!isObj(cur)) return;
    stack.push(cur);
  }
  delete (cur as KObject)[path[path.length - 1]!];
  for (let i = stack.length - 1; i > 0; i--) {
    if (Object.keys(stack[i]!).length === 0) delete stack[i - 1]![path[i - 1]!];
    else break;
  }
}

/** Leaf fields whose values differ between two objects (set, changed or removed). */
export function changedFields(before: KObject | undefined, after: KObject, opts: { includeStatus?: boolean } = {}): Set<string> {
  const a = before ? leafFields(before, opts) : new Set<string>();
  const b = leafFields(after, opts);
  const out = new Set<string>();
  for (const k of b) if (!a.has(k) || !deepEqual(valueAt(before, keyPath(k)), valueAt(after, keyPath(k)))) out.add(k);
  for (const k of a) if (!b.has(k)) out.add(k);
  return out;
}

/** fieldsV1 encoding of a set of leaf paths: `{"f:spec":{"f:replicas":{}}}`. */
export function encodeFieldsV1(fields: Iterable<string>): KObject {
  const root: KObject = {};
  for (const k of [...fields].sort()) {
    let cur = root;
    for (const p of keyPath(k)) cur = (cur[`f:${p}`] ??= {}) as KObject;
  }
  return root;
}

/** Inverse of encodeFieldsV1 (`.` markers and `k:`/`v:` list keys are treated as the list itself). */
export function decodeFieldsV1(f: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: FieldPath) => {
    const keys = isObj(node) ? Object.keys(node).filter((k) => k.startsWith('f:')) : [];
    if (keys.length === 0) {
      if (path.length > 0) out.add(pathKey(path));
      return;
    }
    for (const k of keys) walk((node as KObject)[k], [...path, k.slice(2)]);
  };
  walk(f, []);
  return out;
}
