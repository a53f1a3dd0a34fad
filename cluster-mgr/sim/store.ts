// One member's object store: resourceVersion counter, CRUD with real API semantics (404, 409
// AlreadyExists / Conflict, generation, status subresource, managedFields), server-side apply, a
// retained event window for watches (older → 410 Gone), and owner-reference garbage collection.
import { randomUUID } from 'node:crypto';
import { applyDefaults, validate, validateUpdate } from './defaults';
import { alreadyExists, ApiError, badRequest, conflict, gone, invalid, notFound } from './errors';
import { applyMerge, changedFields, clone, decodeFieldsV1, deepEqual, deleteAt, encodeFieldsV1, fieldString, keyPath, leafFields, valueAt } from './patch';
import { groupVersion, type ResourceType, RESOURCES } from './resources';
import type { KObject, Matcher } from './selectors';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  readonly type: EventType;
  readonly rv: number;
  readonly res: ResourceType;
  readonly obj: KObject;
  readonly prev?: KObject;
}

export interface WriteOptions {
  /** metadata.managedFields manager name (the `fieldManager` query parameter or the user agent). */
  readonly manager?: string;
  /** Write to the /status subresource: only status changes. */
  readonly subresource?: 'status';
  /** Controller writes: keep the given status on create. */
  readonly internal?: boolean;
  /** Create through server-side apply: the manager owns exactly these fields (operation Apply). */
  readonly applyFields?: { manager: string; fields: Set<string> };
}

export interface ApplyOptions {
  readonly manager: string;
  readonly force?: boolean;
}

interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: KObject;
  subresource?: string;
}

export const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const objKey = (_res: ResourceType, ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
const resKey = (res: ResourceType) => `${res.group}/${res.plural}`;

const randChars = 'bcdfghjklmnpqrstvwxz2456789';

export class Store {
  private rv = 0;
  /** Objects by resource, then by `namespace/name`. */
  private readonly byRes = new Map<string, Map<string, KObject>>();
  /** Owner uid → resource → keys of dependents (owner-reference index for controllers and GC). */
  private readonly dependents = new Map<string, Map<string, Set<string>>>();
  private readonly log: StoreEvent[] = [];
  /** The newest resourceVersion no longer in the event window (watches from at or before it get 410). */
  private compactedRv = 0;
  private readonly listeners = new Set<(ev: StoreEvent) => void>();
  private seed: number;
  private dry = false;
  private readonly finalizing = new Set<string>();

  constructor(
    private readonly window = 1000,
    seed = 1,
  ) {
    this.seed = seed;
  }

  /** Deterministic pseudo-random suffix of `n` characters (pod names, generateName). */
  randomSuffix(n = 5): string {
    let out = '';
    for (let i = 0; i < n; i++) {
      this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31;
      out += randChars[this.seed % randChars.length];
    }
    return out;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Subscribes to every committed change (watch streams, controllers). Returns an unsubscribe. */
  subscribe(fn: (ev: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events after `fromRv` still in the window; throws 410 when `fromRv` is older than the window. */
  eventsSince(fromRv: number): StoreEvent[] {
    if (fromRv < this.compactedRv) throw gone(`too old resource version: ${fromRv} (${this.compactedRv + 1})`);
    return this.log.filter((e) => e.rv > fromRv);
  }

  get(res: ResourceType, ns: string | undefined, name: string): KObject | undefined {
    const o = this.table(res).get(objKey(res, res.namespaced ? ns : undefined, name));
    return o ? clone(o) : undefined;
  }

  mustGet(res: ResourceType, ns: string | undefined, name: string): KObject {
    const o = this.get(res, ns, name);
    if (!o) throw notFound(res, name);
    return o;
  }

  private table(res: ResourceType): Map<string, KObject> {
    let t = this.byRes.get(resKey(res));
    if (!t) {
      t = new Map();
      this.byRes.set(resKey(res), t);
    }
    return t;
  }

  list(res: ResourceType, ns?: string, match?: Matcher): KObject[] {
    const out: KObject[] = [];
    for (const o of this.table(res).values()) {
      if (ns && res.namespaced && o.metadata?.namespace !== ns) continue;
      if (match && !match(o)) continue;
      out.push(clone(o));
    }
    return out.sort((a, b) =>
      `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`),
    );
  }

  /**
   * The stored objects themselves, in insertion order, without copies: for controllers that read a
   * lot and clone only what they change. Callers must not mutate them.
   */
  scan(res: ResourceType, ns?: string): readonly KObject[] {
    const out: KObject[] = [];
    for (const o of this.table(res).values()) if (!ns || !res.namespaced || o.metadata?.namespace === ns) out.push(o);
    return out;
  }

  /** One stored object without a copy (callers must not mutate it). */
  peek(res: ResourceType, ns: string | undefined, name: string): KObject | undefined {
    return this.table(res).get(objKey(res, res.namespaced ? ns : undefined, name));
  }

  /** Stored objects of `res` whose ownerReferences name `ownerUid` (no copies; do not mutate). */
  owned(res: ResourceType, ownerUid: string): KObject[] {
    const keys = this.dependents.get(ownerUid)?.get(resKey(res));
    if (!keys) return [];
    const t = this.table(res);
    return [...keys].map((k) => t.get(k)).filter((o): o is KObject => !!o);
  }

  /** How many objects of a resource are stored (no copies). */
  count(res: ResourceType): number {
    return this.table(res).size;
  }

  private namespaceMustExist(res: ResourceType, ns: string | undefined, name: string, internal?: boolean): void {
    if (!res.namespaced) return;
    if (!ns) throw badRequest(`the namespace of the provided object does not match the namespace sent on the request`);
    const n = this.table(NAMESPACES).get(objKey(NAMESPACES, undefined, ns));
    if (!n) throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    // The NamespaceLifecycle admission plugin: no new content in a Terminating namespace.
    if (n.metadata.deletionTimestamp && !internal)
      throw new ApiError(403, 'Forbidden', `${qualifiedName(res)} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, {
        name,
        ...(res.group ? { group: res.group } : {}),
        kind: res.plural,
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
      });
  }

  /** Runs `fn` as a dry run (`?dryRun=All`): validation, defaulting and conflicts apply, nothing is stored. */
  dryRun<T>(fn: () => T): T {
    this.dry = true;
    try {
      return fn();
    } finally {
      this.dry = false;
    }
  }

  private commit(type: EventType, res: ResourceType, obj: KObject, prev?: KObject): KObject {
    if (this.dry) {
      if (type === 'ADDED') delete obj.metadata.resourceVersion;
      else obj.metadata.resourceVersion = prev?.metadata.resourceVersion;
      return clone(obj);
    }
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    const key = objKey(res, res.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name);
    if (type === 'DELETED') this.table(res).delete(key);
    else this.table(res).set(key, obj);
    const prevStored = prev ?? (type === 'ADDED' ? undefined : obj);
    for (const ref of (prevStored?.metadata?.ownerReferences ?? []) as KObject[]) this.dependents.get(ref.uid)?.get(resKey(res))?.delete(key);
    if (type !== 'DELETED')
      for (const ref of (obj.metadata.ownerReferences ?? []) as KObject[]) {
        let byR = this.dependents.get(ref.uid);
        if (!byR) this.dependents.set(ref.uid, (byR = new Map()));
        let keys = byR.get(resKey(res));
        if (!keys) byR.set(resKey(res), (keys = new Set()));
        keys.add(key);
      }
    const ev: StoreEvent = { type, rv: this.rv, res, obj: clone(obj), ...(prev ? { prev } : {}) };
    this.log.push(ev);
    while (this.log.length > this.window) this.compactedRv = this.log.shift()!.rv;
    for (const l of [...this.listeners]) l(ev);
    return clone(obj);
  }

  private checkIdentity(res: ResourceType, obj: KObject, ns: string | undefined): void {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw badRequest('the request body must be a JSON object');
    if (obj.kind && obj.kind !== res.kind) throw badRequest(`the kind of the body (${obj.kind}) does not match the resource ${res.plural} (kind ${res.kind})`);
    if (obj.apiVersion && obj.apiVersion !== groupVersion(res))
      throw badRequest(`the apiVersion of the body (${obj.apiVersion}) does not match ${groupVersion(res)}`);
    if (res.namespaced && obj.metadata?.namespace && ns && obj.metadata.namespace !== ns)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }

  create(res: ResourceType, body: KObject, ns: string | undefined, opts: WriteOptions = {}): KObject {
    this.checkIdentity(res, body, ns);
    const obj = clone(body);
    obj.apiVersion = groupVersion(res);
    obj.kind = res.kind;
    obj.metadata = obj.metadata ?? {};
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${this.randomSuffix()}`;
    const name = obj.metadata.name as string | undefined;
    if (!name) throw invalid(res, '', 'metadata.name', 'Required value: name or generateName is required');
    if (typeof name !== 'string' || !NAME_RE.test(name) || name.length > 253)
      throw invalid(res, String(name), 'metadata.name', `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    if (res.namespaced) obj.metadata.namespace = ns ?? obj.metadata.namespace;
    else delete obj.metadata.namespace;
    this.namespaceMustExist(res, obj.metadata.namespace, name, opts.internal);
    if (this.table(res).has(objKey(res, obj.metadata.namespace, name))) throw alreadyExists(res, name);
    applyDefaults(res, obj);
    validate(res, obj);
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = now();
    delete obj.metadata.deletionTimestamp;
    if (res.generation) obj.metadata.generation = 1;
    if (res.status && !opts.internal) delete obj.status;
    if (res.kind === 'Namespace') obj.status = { phase: 'Active' };
    if (res.kind === 'Pod' && !opts.internal) obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    if (opts.applyFields) obj.metadata.managedFields = [this.entry(res, opts.applyFields.manager, 'Apply', opts.applyFields.fields)];
    else if (opts.manager) obj.metadata.managedFields = [this.entry(res, opts.manager, 'Update', leafFields(body, { includeStatus: !!opts.internal, keyed: keyedLists(res) }))];
    else delete obj.metadata.managedFields;
    return this.commit('ADDED', res, obj);
  }

  private entry(res: ResourceType, manager: string, operation: 'Apply' | 'Update', fields: Set<string>, subresource?: string): ManagedEntry {
    return {
      manager,
      operation,
      apiVersion: groupVersion(res),
      time: now(),
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(fields),
      ...(subresource ? { subresource } : {}),
    };
  }

  /** Replaces an object (PUT, or the result of a non-apply PATCH). */
  update(res: ResourceType, body: KObject, ns: string | undefined, name: string, opts: WriteOptions = {}): KObject {
    this.checkIdentity(res, body, ns);
    if (body.metadata?.name && body.metadata.name !== name)
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    const old = this.get(res, ns, name);
    if (!old) throw notFound(res, name);
    const rv = body.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '' && String(rv) !== old.metadata.resourceVersion) throw conflict(res, name);
    const next = clone(body);
    next.apiVersion = old.apiVersion;
    next.kind = old.kind;
    next.metadata = { ...(next.metadata ?? {}) };
    for (const k of ['name', 'namespace', 'uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'managedFields'])
      if (old.metadata[k] !== undefined) next.metadata[k] = old.metadata[k];
      else delete next.metadata[k];
    if (opts.subresource === 'status') {
      const status = next.status;
      for (const k of Object.keys(next)) delete next[k];
      Object.assign(next, clone(old));
      if (status === undefined) delete next.status;
      else next.status = status;
    } else if (res.status && !opts.internal) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
    return this.finishUpdate(res, old, next, opts);
  }

  private finishUpdate(res: ResourceType, old: KObject, next: KObject, opts: WriteOptions, managed?: ManagedEntry[]): KObject {
    if (opts.subresource !== 'status') {
      applyDefaults(res, next);
      validate(res, next);
      validateUpdate(res, old, next);
    }
    const strip = (o: KObject) => {
      const c = clone(o);
      delete c.metadata.resourceVersion;
      delete c.metadata.managedFields;
      return c;
    };
    if (deepEqual(strip(old), strip(next)) && !managed) return old; // no-op writes keep the resourceVersion
    if (res.generation && !deepEqual(old.spec, next.spec)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    if (managed) next.metadata.managedFields = managed;
    else if (opts.manager) {
      const sub = opts.subresource;
      const changed = changedFields(old, next, { includeStatus: sub === 'status' || !!opts.internal, keyed: keyedLists(res) });
      next.metadata.managedFields = this.assign(res, old.metadata.managedFields ?? [], opts.manager, changed, sub);
    }
    if (next.metadata.managedFields?.length === 0) delete next.metadata.managedFields;
    if (deepEqual(strip(old), strip(next)) && deepEqual(old.metadata.managedFields, next.metadata.managedFields)) return old;
    // An object marked for deletion goes once its last finalizer is removed.
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length && res.kind !== 'Namespace') {
      const gone = this.commit('DELETED', res, next, old);
      if (!this.dry) this.afterDelete(res, old);
      return gone;
    }
    return this.commit('MODIFIED', res, next, old);
  }

  /** Gives `fields` to `manager` (operation Update), taking them away from everyone else. */
  private assign(res: ResourceType, entries: ManagedEntry[], manager: string, fields: Set<string>, sub?: string): ManagedEntry[] {
    if (fields.size === 0) return entries;
    const out: ManagedEntry[] = [];
    let mine: Set<string> | undefined;
    for (const e of entries) {
      const f = decodeFieldsV1(e.fieldsV1);
      if (e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (sub ?? '')) {
        mine = f;
        continue;
      }
      for (const k of [...f]) if ([...fields].some((c) => overlaps(c, k))) f.delete(k);
      if (f.size > 0) out.push({ ...e, fieldsV1: encodeFieldsV1(f) });
    }
    const merged = new Set([...(mine ?? []), ...fields]);
    out.push(this.entry(res, manager, 'Update', merged, sub));
    return out;
  }

  /** Server-side apply (`application/apply-patch+yaml`). */
  apply(res: ResourceType, body: KObject, ns: string | undefined, name: string, opts: ApplyOptions): KObject {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('apply: the body must be an object');
    if (!body.apiVersion || !body.kind) throw badRequest('apply: apiVersion and kind must be set in the applied configuration');
    this.checkIdentity(res, body, ns);
    if (body.metadata?.name && body.metadata.name !== name)
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    if (!opts.manager) throw badRequest('fieldManager is required for apply requests (PATCH with application/apply-patch+yaml)');
    const applied = clone(body);
    delete applied.status;
    if (applied.metadata) {
      delete applied.metadata.resourceVersion;
      delete applied.metadata.managedFields;
    }
    const fields = leafFields(applied, { keyed: keyedLists(res) });
    const old = this.get(res, ns, name);
    if (!old) {
      return this.create(res, { ...applied, metadata: { ...(applied.metadata ?? {}), name } }, ns, { applyFields: { manager: opts.manager, fields } });
    }
    const entries: ManagedEntry[] = (old.metadata.managedFields ?? []) as ManagedEntry[];
    const conflicts: { manager: string; field: string }[] = [];
    let previous = new Set<string>();
    const others: { e: ManagedEntry; f: Set<string> }[] = [];
    for (const e of entries) {
      const f = decodeFieldsV1(e.fieldsV1);
      if (e.manager === opts.manager && e.operation === 'Apply') {
        previous = f;
        continue;
      }
      if (e.subresource) {
        others.push({ e, f });
        continue;
      }
      for (const k of f) {
        for (const a of fields) {
          if (!overlaps(a, k)) continue;
          if (!deepEqual(valueAt(old, keyPath(k)), valueAt(applied, keyPath(k)))) conflicts.push({ manager: e.manager, field: k });
        }
      }
      others.push({ e, f });
    }
    if (conflicts.length > 0 && !opts.force) {
      const uniq = [...new Map(conflicts.map((c) => [`${c.manager}${c.field}`, c])).values()];
      const list = uniq.map((c) => `conflict with "${c.manager}": ${fieldString(keyPath(c.field))}`);
      // The real server's Status: causes carry `reason: FieldManagerConflict`; details name no object.
      throw new ApiError(409, 'Conflict', `Apply failed with ${uniq.length} conflict${uniq.length > 1 ? 's' : ''}: ${list.join('\n')}`, {
        causes: uniq.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: fieldString(keyPath(c.field)) })),
      });
    }
    const lost = new Set(conflicts.map((c) => c.field));
    const next = applyMerge(old, applied, { keyed: keyedLists(res) }) as KObject;
    // Fields this manager applied before and no longer applies are removed unless someone else owns them.
    for (const k of previous) {
      if (fields.has(k) || [...fields].some((a) => overlaps(a, k) && a.length > k.length)) continue;
      if (others.some((o) => !o.e.subresource && [...o.f].some((x) => overlaps(x, k)))) continue;
      deleteAt(next, keyPath(k));
    }
    next.metadata.name = old.metadata.name;
    if (old.metadata.namespace) next.metadata.namespace = old.metadata.namespace;
    for (const k of ['uid', 'creationTimestamp', 'generation', 'resourceVersion']) next.metadata[k] = old.metadata[k];
    if (old.status !== undefined) next.status = old.status;
    const mine = this.entry(res, opts.manager, 'Apply', fields);
    const prevEntry = entries.find((e) => e.manager === opts.manager && e.operation === 'Apply');
    if (prevEntry && deepEqual(prevEntry.fieldsV1, mine.fieldsV1)) mine.time = prevEntry.time;
    // Keep the entries' order stable so that re-applying an unchanged config is a no-op.
    const managed: ManagedEntry[] = [];
    for (const e of entries) {
      if (e === prevEntry) {
        managed.push(mine);
        continue;
      }
      const o = others.find((x) => x.e === e);
      if (!o) continue;
      for (const k of [...o.f]) if (lost.has(k)) o.f.delete(k);
      if (o.f.size > 0) managed.push(lost.size > 0 ? { ...e, fieldsV1: encodeFieldsV1(o.f) } : e);
    }
    if (!prevEntry) managed.push(mine);
    return this.finishUpdate(res, old, next, {}, managed);
  }

  /** Deletes an object (and, through owner references, its dependents). */
  delete(res: ResourceType, ns: string | undefined, name: string, pre?: { uid?: string; resourceVersion?: string }): KObject {
    const old = this.get(res, ns, name);
    if (!old) throw notFound(res, name);
    if (pre?.uid && pre.uid !== old.metadata.uid)
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion)
      throw new ApiError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    if (old.metadata.deletionTimestamp && (old.metadata.finalizers ?? []).length) return old; // already terminating
    if (res.kind === 'Namespace' || (old.metadata.finalizers ?? []).length) {
      // Graceful: marked for deletion; it goes when its finalizers are gone (a namespace: when its content is).
      const next = clone(old);
      next.metadata.deletionTimestamp = now();
      next.metadata.deletionGracePeriodSeconds = 0;
      if (res.kind === 'Namespace') next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      const marked = old.metadata.deletionTimestamp ? old : this.commit('MODIFIED', res, next, old);
      if (res.kind === 'Namespace' && !this.dry) this.finalizeNamespace(name);
      return marked;
    }
    const gone = this.commit('DELETED', res, clone(old), old);
    if (!this.dry) this.afterDelete(res, old);
    return gone;
  }

  private afterDelete(res: ResourceType, old: KObject): void {
    this.collect(old);
    const ns = res.namespaced ? old.metadata.namespace : undefined;
    if (ns && this.peek(NAMESPACES, undefined, ns)?.metadata.deletionTimestamp) this.finalizeNamespace(ns);
  }

  /**
   * The namespace controller: deletes a Terminating namespace's content; objects with finalizers stay
   * (marked for deletion) and keep the namespace until they are gone.
   */
  private finalizeNamespace(ns: string): void {
    if (this.finalizing.has(ns)) return;
    this.finalizing.add(ns);
    try {
      for (const r of RESOURCES) {
        if (!r.namespaced) continue;
        for (const o of [...this.table(r).values()]) {
          if (o.metadata.namespace !== ns || o.metadata.deletionTimestamp) continue;
          if (this.peek(r, ns, o.metadata.name)) this.delete(r, ns, o.metadata.name);
        }
      }
      const left = RESOURCES.some((r) => r.namespaced && [...this.table(r).values()].some((o) => o.metadata.namespace === ns));
      const cur = this.get(NAMESPACES, undefined, ns);
      if (!left && cur) {
        this.commit('DELETED', NAMESPACES, cur, cur);
        this.collect(cur);
      }
    } finally {
      this.finalizing.delete(ns);
    }
  }

  /** Garbage collection: dependents (ownerReferences) go with their owner. */
  private collect(owner: KObject): void {
    const victims: [ResourceType, string | undefined, string][] = [];
    const byR = this.dependents.get(owner.metadata.uid);
    for (const r of RESOURCES) for (const o of this.owned(r, owner.metadata.uid)) victims.push([r, o.metadata.namespace, o.metadata.name]);
    if (byR) this.dependents.delete(owner.metadata.uid);
    for (const [r, ns, name] of victims) if (this.peek(r, ns, name)) this.delete(r, ns, name);
  }
}

const NAMESPACES = RESOURCES.find((r) => r.plural === 'namespaces')!;
const qualifiedName = (r: ResourceType) => (r.group ? `${r.plural}.${r.group}` : r.plural);

/** a and b (encoded field paths) overlap when one is a prefix of the other. */
function overlaps(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = keyPath(a);
  const pb = keyPath(b);
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) if (pa[i] !== pb[i]) return false;
  return true;
}

/** Built-in types merge associative lists by key in server-side apply; the custom resource's lists are atomic. */
const keyedLists = (res: ResourceType): boolean => res.group !== 'flotilla.dev';
