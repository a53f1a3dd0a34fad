// The SSH layer (ssh2): key auth, host keys pinned from known_hosts (unknown or changed keys refused
// with their fingerprint unless --accept-new-host-keys, which only ever adds unknown keys), an optional
// bastion, per-host timeouts, bounded concurrency (callers use `limit`) and one reused connection per host.
import { appendFile, readFile } from 'node:fs/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { checkHostKey, knownHostName, parseKnownHosts, type HostKeyVerdict, type KnownHostEntry } from '../../infra/site/known-hosts';

export { checkHostKey, entriesFor, fingerprint, keyTypeOf, knownHostName, parseKnownHosts, type HostKeyVerdict, type KnownHostEntry } from '../../infra/site/known-hosts';

export type SshErrorKind = 'unreachable' | 'host-key' | 'auth' | 'exec';
export class SshError extends Error {
  constructor(
    message: string,
    readonly kind: SshErrorKind,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

export interface SshConfig {
  readonly user: string;
  readonly port: number;
  readonly privateKey: Buffer;
  readonly knownHostsFile: string;
  readonly acceptNewHostKeys?: boolean;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly bastion?: { host: string; port: number; user: string };
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One connection per host, reused for every command; `limit` bounds hosts worked on at once. */
export class SshPool {
  readonly limit: LimitFunction;
  private known: KnownHostEntry[] = [];
  private readonly conns = new Map<string, Promise<Client>>();
  private bastion?: Promise<Client>;

  private constructor(private readonly cfg: SshConfig) {
    this.limit = pLimit(cfg.concurrency);
  }

  static async open(cfg: SshConfig): Promise<SshPool> {
    const pool = new SshPool(cfg);
    try {
      pool.known = parseKnownHosts(await readFile(cfg.knownHostsFile, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !cfg.acceptNewHostKeys) throw err;
    }
    return pool;
  }

  private connect(host: string, port: number, user: string, sock?: ClientChannel): Promise<Client> {
    return new Promise((resolve, reject) => {
      const c = new Client();
      let refusal: HostKeyVerdict | undefined;
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) {
          c.end();
          reject(err);
        } else resolve(c);
      };
      const cfg: ConnectConfig = {
        host,
        port,
        username: user,
        privateKey: this.cfg.privateKey,
        readyTimeout: this.cfg.timeoutMs,
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
        sock,
        hostVerifier: (key: Buffer) => {
          const v = checkHostKey(this.known, host, port, key);
          if (v.ok) return true;
          if (v.reason === 'unknown' && this.cfg.acceptNewHostKeys) {
            const line = `${knownHostName(host, port)} ${v.keyType} ${key.toString('base64')}\n`;
            this.known.push(...parseKnownHosts(line));
            void appendFile(this.cfg.knownHostsFile, line);
            return true;
          }
          refusal = v;
          return false;
        },
      };
      c.on('ready', () => done());
      c.on('error', (err: Error & { level?: string }) => {
        const name = `${user}@${knownHostName(host, port)}`;
        if (refusal && !refusal.ok) {
          const why =
            refusal.reason === 'unknown'
              ? `host key is not in ${this.cfg.knownHostsFile}`
              : refusal.reason === 'changed'
                ? `HOST KEY CHANGED (does not match ${this.cfg.knownHostsFile})`
                : 'host key is revoked';
          done(new SshError(`${name}: ${why}: ${refusal.keyType} ${refusal.fingerprint}; ${refusal.reason === 'unknown' ? 'check the fingerprint and add it, or pass --accept-new-host-keys' : 'check with the host owner before updating known_hosts'}`, 'host-key'));
        } else if (err.level === 'client-authentication') {
          done(new SshError(`${name}: key authentication refused: check ssh.user and ssh.privateKeyFile`, 'auth'));
        } else if (/Timed out/i.test(err.message)) {
          done(new SshError(`${name}: unreachable: no SSH handshake within ${this.cfg.timeoutMs} ms`, 'unreachable'));
        } else {
          done(new SshError(`${name}: unreachable: ${err.message}`, 'unreachable'));
        }
      });
      c.on('close', () => {
        if (settled) this.conns.delete(host);
        done(new SshError(`${user}@${knownHostName(host, port)}: connection closed during handshake`, 'unreachable'));
      });
      c.connect(cfg);
    });
  }

  private async viaBastion(host: string, port: number): Promise<ClientChannel> {
    const b = this.cfg.bastion!;
    this.bastion ??= this.connect(b.host, b.port, b.user);
    const jump = await this.bastion;
    return new Promise((resolve, reject) =>
      jump.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(new SshError(`bastion ${b.host}: cannot reach ${host}:${port}: ${err.message}`, 'unreachable')) : resolve(stream))),
    );
  }

  /** The (cached) connection to a host. */
  client(host: string): Promise<Client> {
    let p = this.conns.get(host);
    if (!p) {
      p = (async () => {
        const sock = this.cfg.bastion ? await this.viaBastion(host, this.cfg.port) : undefined;
        return this.connect(host, this.cfg.port, this.cfg.user, sock);
      })();
      this.conns.set(host, p);
      p.catch(() => this.conns.delete(host));
    }
    return p;
  }

  /** Runs a command; resolves with its exit code and output (never rejects for non-zero exits). */
  async exec(host: string, command: string, opts: { stdin?: Uint8Array | string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const c = await this.client(host);
    return new Promise((resolve, reject) => {
      c.exec(command, (err, stream) => {
        if (err) return reject(new SshError(`${host}: exec failed: ${err.message}`, 'exec'));
        const out: Buffer[] = [];
        const errb: Buffer[] = [];
        const timer = setTimeout(() => {
          stream.close();
          reject(new SshError(`${host}: command did not finish within ${opts.timeoutMs ?? 60_000} ms`, 'exec'));
        }, opts.timeoutMs ?? 60_000);
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errb.push(d));
        stream.on('close', (code: number | null) => {
          clearTimeout(timer);
          resolve({ code: code ?? 255, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errb).toString('utf8') });
        });
        if (opts.stdin !== undefined) stream.end(opts.stdin);
        else stream.end();
      });
    });
  }

  close(): void {
    for (const p of this.conns.values()) p.then((c) => c.end()).catch(() => undefined);
    this.conns.clear();
    this.bastion?.then((c) => c.end()).catch(() => undefined);
  }
}
