// Small HTTP helpers for talking to a simulated member in tests (loopback only), and kubectl against one.
import { execFile } from 'node:child_process';
import { waitFor, which } from '../lab';

/** The real kubectl with `kubeconfig` and a throwaway HOME (no user config leaks in); never rejects. */
export function runKubectl(kubeconfig: string, home: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      which('kubectl') ?? 'kubectl',
      ['--kubeconfig', kubeconfig, '--request-timeout', '5s', ...args],
      { env: { ...process.env, HOME: home, KUBECONFIG: '' }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export interface Resp {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export async function call(base: string, method: string, path: string, body?: unknown, contentType = 'application/json', headers: Record<string, string> = {}): Promise<Resp> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': contentType } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const text = await r.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, body: parsed, text };
}

export interface WatchStream {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  events: { type: string; object: any }[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  stop(): void;
  /** Waits until an event satisfying `pred` has arrived (deadline-bounded). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  waitFor(pred: (e: { type: string; object: any }) => boolean, what: string, timeoutMs?: number): Promise<{ type: string; object: any }>;
}

/** Opens a watch (`path` includes `?watch=true…`) and collects its newline-delimited events. */
export async function openWatch(base: string, path: string): Promise<WatchStream> {
  const ac = new AbortController();
  const r = await fetch(`${base}${path}`, { signal: ac.signal });
  if (!r.body) throw new Error('watch: no body');
  const events: WatchStream['events'] = [];
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) events.push(JSON.parse(line));
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    ended,
    stop: () => ac.abort(),
    waitFor: (pred, what, timeoutMs = 5000) => waitFor(() => events.find(pred), { what, timeoutMs }),
  };
}

export const deployment = (name: string, replicas: number, cpu = '500m', memory = '512Mi') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'example.com/app:1', resources: { requests: { cpu, memory } } }] },
    },
  },
});
