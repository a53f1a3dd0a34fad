// Second vantage point over HTTP: a witness (a small service in another site/network, or any
// endpoint that probes members from the users' side) answers whether a member is up. It feeds
// `secondOpinionUp` in planTraffic's split-brain guard.
//
// Contract: GET <url with {member} replaced> (or <url>?member=NAME when the URL has no placeholder)
//   2xx → up · 503 or a JSON body {"up": false} → down · anything else, timeout, refused → unknown.
import { redactUrl, splitCredentials, withTimeout } from './http';

export interface WitnessOptions {
  readonly url: string;
  /** @default 1000 */
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
}

export function witnessUrl(template: string, member: string): string {
  if (template.includes('{member}')) return template.replaceAll('{member}', encodeURIComponent(member));
  const u = new URL(template);
  u.searchParams.set('member', member);
  return u.toString();
}

export class HttpWitness {
  constructor(private readonly opts: WitnessOptions) {}

  /** true up, false down, undefined unknown (the witness did not give a verdict). */
  async check(member: string, signal?: AbortSignal): Promise<boolean | undefined> {
    const target = splitCredentials(witnessUrl(this.opts.url, member));
    let res: Response;
    try {
      res = await fetch(target.url, { headers: { ...target.headers, ...this.opts.headers }, signal: withTimeout(this.opts.timeoutMs ?? 1000, signal) });
    } catch {
      return undefined;
    }
    const text = await res.text().catch(() => '');
    let body: { up?: unknown } | undefined;
    try {
      body = JSON.parse(text) as { up?: unknown };
    } catch {
      body = undefined;
    }
    if (body && typeof body.up === 'boolean') return res.ok || res.status === 503 ? body.up : undefined;
    if (res.ok) return true;
    if (res.status === 503) return false;
    return undefined;
  }

  /** Verdicts for several members at once (for one reconcile pass). */
  async checkAll(members: readonly string[], signal?: AbortSignal): Promise<Record<string, boolean | undefined>> {
    const results = await Promise.all(members.map((m) => this.check(m, signal)));
    return Object.fromEntries(members.map((m, i) => [m, results[i]]));
  }

  toString(): string {
    return `witness ${redactUrl(this.opts.url)}`;
  }
}
