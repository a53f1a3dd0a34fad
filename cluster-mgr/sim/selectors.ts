// Label and field selectors (the string forms of the Kubernetes API), parsed once and matched many times.
import { ApiError } from './errors';

type Req =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type Matcher = (obj: KObject) => boolean;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObject = Record<string, any>;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

export function parseLabelSelector(sel: string | undefined | null): Req[] {
  if (!sel) return [];
  return splitTop(sel).map((term): Req => {
    let m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) return { op: m[2] as 'in' | 'notin', key: m[1]!, values: m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '') };
    m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)$/.exec(term);
    if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
    m = /^(!?)([^\s!=()]+)$/.exec(term);
    if (m) return { op: m[1] ? 'notexists' : 'exists', key: m[2]! };
    throw new ApiError(400, 'BadRequest', `unable to parse requirement: invalid label selector term "${term}"`);
  });
}

function matchReqs(reqs: Req[], get: (key: string) => string | undefined): boolean {
  return reqs.every((r) => {
    const v = get(r.key);
    switch (r.op) {
      case 'eq':
        return v === r.value;
      case 'neq':
        return v !== r.value;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'exists':
        return v !== undefined;
      case 'notexists':
        return v === undefined;
    }
  });
}

/** Matcher for `?labelSelector=`. */
export function labelMatcher(sel: string | undefined | null): Matcher {
  const reqs = parseLabelSelector(sel);
  return (obj) => matchReqs(reqs, (k) => (obj.metadata?.labels as Record<string, string> | undefined)?.[k]);
}

/** Matches a structured `matchLabels`/`matchExpressions` LabelSelector against labels. */
export function selectorMatches(selector: KObject | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries((selector.matchLabels ?? {}) as Record<string, string>)) if (l[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]) {
    const v = l[e.key];
    const vals = e.values ?? [];
    if (e.operator === 'In' && (v === undefined || !vals.includes(v))) return false;
    if (e.operator === 'NotIn' && v !== undefined && vals.includes(v)) return false;
    if (e.operator === 'Exists' && v === undefined) return false;
    if (e.operator === 'DoesNotExist' && v !== undefined) return false;
  }
  return true;
}

/** Reads a dotted field path (`spec.nodeName`, `metadata.name`) as the string the API compares. */
export function fieldValue(obj: KObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as KObject)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/** Matcher for `?fieldSelector=` (`=`, `==`, `!=` over any dotted field; unknown fields compare as ""). */
export function fieldMatcher(sel: string | undefined | null): Matcher {
  if (!sel) return () => true;
  const reqs = splitTop(sel).map((term) => {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new ApiError(400, 'BadRequest', `invalid field selector term "${term}": expected field=value or field!=value`);
    return { path: m[1]!.trim(), neq: m[2] === '!=', value: m[3]!.trim() };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.path) === r.value) !== r.neq);
}
