// Generic "YAML text → validated model or positioned errors" used by every inventory-like input
// (Site, Federation, capacity files). Expected failures are values, never exceptions.
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { formatPath, type Issue, type Path } from './checks';

export interface PositionedError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

export type LoadResult<T> = { ok: true; value: T } | { ok: false; errors: PositionedError[] };

/** `FILE:LINE:COL PATH: message`, the format of every user-facing validation error. */
export function formatError(e: PositionedError): string {
  return `${e.file}:${e.line}:${e.col} ${e.path}: ${e.message}`;
}

/** Finds the deepest YAML node along `path` (falls back to the nearest existing ancestor). */
function locate(doc: Document, lc: LineCounter, path: Path, preferKey: boolean): { line: number; col: number } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as { value?: unknown } | null;
        return (k && typeof k === 'object' && 'value' in k ? k.value : k) === part;
      });
      if (!pair) break;
      const key = pair.key as YamlNode | null;
      const value = pair.value as YamlNode | null;
      offset = (preferKey && part === path[path.length - 1] ? key?.range?.[0] : value?.range?.[0] ?? key?.range?.[0]) ?? offset;
      node = value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as YamlNode | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const pos = lc.linePos(offset);
  return { line: pos.line, col: pos.col };
}

export interface LoadOptions<T> {
  /** Extra checks over the schema-valid model. */
  readonly checks?: (value: T) => Issue[];
  /** Expected `kind:` — named in the message when the document is something else. */
  readonly what?: string;
}

/** Parses YAML text with positions, validates it with `schema`, runs `checks`. */
export function loadYamlText<S extends z.ZodType>(
  schema: S,
  text: string,
  file: string,
  opts: LoadOptions<z.output<S>> = {},
): LoadResult<z.output<S>> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        const lineText = (text.split(/\r?\n/)[pos.line - 1] ?? '').trim();
        const shown = lineText.length > 60 ? `${lineText.slice(0, 57)}...` : lineText;
        return {
          file,
          line: pos.line,
          col: pos.col,
          path: '(yaml)',
          message: `${(e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, '')}${shown ? ` at ${JSON.stringify(shown)}` : ''} — fix the YAML syntax (indentation, quoting, duplicate keys)`,
        };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. an alias bomb (too many alias expansions) or an unresolved alias
    return {
      ok: false,
      errors: [{ file, line: 1, col: 1, path: '(yaml)', message: `${(err as Error).message} — simplify the YAML anchors/aliases` }],
    };
  }
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      errors: [
        { file, line: 1, col: 1, path: '(root)', message: `expected a YAML mapping${opts.what ? ` (a ${opts.what} document)` : ''}, got ${data === null || data === undefined ? 'an empty document' : Array.isArray(data) ? 'a list' : typeof data}` },
      ],
    };
  }
  const parsed = schema.safeParse(data);
  const errors: PositionedError[] = [];
  const push = (path: Path, message: string, preferKey = false) => {
    const pos = locate(doc, lc, path, preferKey);
    errors.push({ file, ...pos, path: formatPath(path), message });
  };
  if (!parsed.success) {
    for (const iss of parsed.error.issues) {
      if (iss.code === 'unrecognized_keys') {
        for (const key of iss.keys) {
          const base = iss.path as Path;
          push([...base, key], `unknown field ${JSON.stringify(key)}: remove it or check its spelling`, true);
        }
        continue;
      }
      push(iss.path as Path, describeIssue(iss, data));
    }
    return { ok: false, errors: sortErrors(errors) };
  }
  for (const issue of opts.checks?.(parsed.data) ?? []) push(issue.path, issue.message);
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };
  return { ok: true, value: parsed.data };
}

function sortErrors(errors: PositionedError[]): PositionedError[] {
  return errors.sort((a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path));
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Turns a zod issue into a message naming the value given and what is expected. */
function describeIssue(iss: z.core.$ZodIssue, data: unknown): string {
  const given = valueAt(data, iss.path);
  switch (iss.code) {
    case 'invalid_type':
      if (given === undefined) return `required field is missing: expected ${iss.expected}`;
      return `expected ${iss.expected}, got ${typeName(given)}`;
    case 'invalid_value':
      return `${JSON.stringify(given)} is not allowed: expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (iss.message && !iss.message.startsWith('Too small')) return iss.message;
      return Array.isArray(given)
        ? `has ${given.length} item(s): expected at least ${String(iss.minimum)}`
        : `${JSON.stringify(given)} is too small: expected at least ${String(iss.minimum)}`;
    case 'too_big':
      if (iss.message && !iss.message.startsWith('Too big')) return iss.message;
      return Array.isArray(given)
        ? `has ${given.length} item(s): expected at most ${String(iss.maximum)}`
        : `${JSON.stringify(given)} is too large: expected at most ${String(iss.maximum)}`;
    case 'invalid_format':
      // A schema's own message (a regex or URL check that names the fix) wins over the generic one.
      if (iss.message && !iss.message.startsWith('Invalid')) return iss.message;
      return `${JSON.stringify(given)} is not a valid ${iss.format}`;
    case 'invalid_union':
      // A schema's own message (e.g. a discriminated union naming its kinds) wins over the generic one.
      if (iss.message && !iss.message.startsWith('Invalid input')) return iss.message;
      return `${JSON.stringify(given)} matches none of the allowed forms`;
    default:
      return iss.message;
  }
}

/** Reads and loads a YAML file; an unreadable file is a positioned error too. */
export async function loadYamlFile<S extends z.ZodType>(
  schema: S,
  file: string,
  opts: LoadOptions<z.output<S>> = {},
): Promise<LoadResult<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    return { ok: false, errors: [{ file, line: 0, col: 0, path: '(file)', message: `cannot read: ${reason}` }] };
  }
  if (text.includes('\u0000')) {
    return { ok: false, errors: [{ file, line: 1, col: 1, path: '(file)', message: 'not a text file: expected YAML' }] };
  }
  return loadYamlText(schema, text, file, opts);
}
