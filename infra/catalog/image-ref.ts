// Container image references (`[registry/]path[:tag][@digest]`), parsed the way docker does: short
// names are docker.io/library. One parser for the catalog, synthesis and the delivery OCI client.

export interface ImageRef {
  /** Registry host[:port] as written (docker.io for short names). */
  readonly registry: string;
  /** Repository path, e.g. `library/nginx`, `platform/app`. */
  readonly repository: string;
  /** Tag, when given (defaults to `latest` if neither tag nor digest). */
  readonly tag?: string;
  readonly digest?: string;
}

/** Parses `[registry/]path[:tag][@digest]` the way docker does (short names → docker.io/library). */
export function parseImageRef(ref: string): ImageRef | undefined {
  const m = /^([^@]+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref.trim());
  if (!m) return undefined;
  let name = m[1]!;
  const tag = m[2];
  const digest = m[3];
  if (name.includes(':') && !name.includes('/')) return undefined;
  const parts = name.split('/');
  let registry = 'docker.io';
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    name = parts.slice(1).join('/');
  } else if (parts.length === 1) {
    name = `library/${name}`;
  }
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(name)) return undefined;
  return { registry, repository: name, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
