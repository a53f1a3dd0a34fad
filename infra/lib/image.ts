// Container image references (`[registry/]path[:tag][@digest]`), parsed the way docker does: short
// names are docker.io/library. One parser and one mirror rewrite for the chart catalog, synthesis,
// the host-file renderers and the delivery OCI client.

export interface ImageRef {
  /** Registry host[:port] as written (docker.io for short names). */
  readonly registry: string;
  /** Repository path, e.g. `library/nginx`, `platform/app`. */
  readonly repository: string;
  /** Tag, when given (defaults to `latest` if neither tag nor digest). */
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Splits a reference into registry host and the rest, docker's rule without validating: the first
 * component is a registry when it has a `.` or `:` or is `localhost`; else `docker.io`, and a bare
 * name gets `library/`.
 */
export function splitImage(ref: string): { registry: string; path: string } {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  if (slash > 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return { registry: first, path: ref.slice(slash + 1) };
  }
  return { registry: 'docker.io', path: slash < 0 ? `library/${ref}` : ref };
}

/** Parses `[registry/]path[:tag][@digest]` the way docker does (short names → docker.io/library). */
export function parseImageRef(ref: string): ImageRef | undefined {
  const m = /^([^@]+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref.trim());
  if (!m) return undefined;
  const tag = m[2];
  const digest = m[3];
  if (m[1]!.includes(':') && !m[1]!.includes('/')) return undefined;
  const { registry, path: name } = splitImage(m[1]!);
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(name)) return undefined;
  return { registry, repository: name, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/**
 * The image as pulled from `registryHost`: same repository path, tag and digest
 * (`quay.io/a/b:1` → `reg.example/a/b:1`, `haproxy:2.8` → `reg.example/library/haproxy:2.8`).
 * Throws on a malformed reference (callers pass catalog constants or validated values).
 */
export function mirrorImage(ref: string, registryHost: string): string {
  const r = parseImageRef(ref);
  if (!r) throw new Error(`invalid image reference ${JSON.stringify(ref)}`);
  return formatImageRef({ ...r, registry: registryHost });
}
