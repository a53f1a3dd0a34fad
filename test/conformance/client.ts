// A small HTTP(S) client for the conformance suite: the same calls against the simulator (plain http,
// any token) and a real kube-apiserver (TLS verified against the lab CA, admin client certificate).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { completeLines } from '../../infra/lib/lines';
import { waitFor } from '../lab';

export interface Credentials {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly token?: string;
}

export interface Resp {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly text: string;
  readonly headers: IncomingMessage['headers'];
}

export interface CallOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WatchEvent = { type: string; object: any };

export interface WatchStream {
  readonly events: WatchEvent[];
  /** When each event arrived (ms since the stream opened), same index as `events`. */
  readonly times: number[];
  readonly openedAt: number;
  /** Resolves when the server ends the stream (or it is stopped). */
  readonly ended: Promise<void>;
  stop(): void;
  waitFor(pred: (e: WatchEvent) => boolean, what: string, timeoutMs?: number): Promise<WatchEvent>;
}

export class ApiClient {
  private readonly url: URL;
  constructor(
    readonly server: string,
    private readonly creds: Credentials = {},
  ) {
    this.url = new URL(server);
  }

  private options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    const h: Record<string, string> = { ...headers };
    if (this.creds.token) h.Authorization = `Bearer ${this.creds.token}`;
    return {
      method,
      // URL.hostname keeps the brackets of an IPv6 literal; node:http wants the bare address.
      hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port,
      path,
      headers: h,
      ...(this.creds.ca ? { ca: this.creds.ca } : {}),
      ...(this.creds.cert ? { cert: this.creds.cert } : {}),
      ...(this.creds.key ? { key: this.creds.key } : {}),
    };
  }

  private open(method: string, path: string, o: CallOptions): Promise<IncomingMessage> {
    const data = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const headers: Record<string, string> = { Accept: o.accept ?? 'application/json', ...(o.headers ?? {}) };
    if (data !== undefined) {
      headers['Content-Type'] = o.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(data));
    }
    const fn = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = fn(this.options(method, path, headers), resolve);
      req.setTimeout(o.timeoutMs ?? 10_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  async call(method: string, path: string, o: CallOptions = {}): Promise<Resp> {
    const res = await this.open(method, path, o);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.statusCode ?? 0, body, text, headers: res.headers };
  }

  /** Opens a watch (`path` includes `watch=…`) and collects its newline-delimited events. */
  async watch(path: string, o: CallOptions = {}): Promise<WatchStream> {
    const openedAt = Date.now();
    const res = await this.open('GET', path, { timeoutMs: 0, ...o });
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new Error(`watch ${path}: HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`);
    }
    const events: WatchEvent[] = [];
    const times: number[] = [];
    let buf = '';
    const ended = new Promise<void>((resolve) => {
      res.on('data', (c: Buffer) => {
        const { lines, rest } = completeLines(buf + c.toString('utf8'));
        buf = rest;
        for (const line of lines) {
          events.push(JSON.parse(line) as WatchEvent);
          times.push(Date.now() - openedAt);
        }
      });
      res.on('end', () => resolve());
      res.on('close', () => resolve());
      res.on('error', () => resolve());
    });
    return {
      events,
      times,
      openedAt,
      ended,
      stop: () => res.destroy(),
      waitFor: (pred, what, timeoutMs = 10_000) => waitFor(() => events.find(pred), { what, timeoutMs }),
    };
  }
}
