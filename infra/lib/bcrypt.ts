// bcrypt password hashes (`$2y$`, the format Apache `htpasswd -B` writes and CNCF Distribution's
// htpasswd auth accepts), for the site registry's htpasswd Secret. Pure and synchronous; Blowfish's
// initial P-array and S-boxes are the hexadecimal digits of π's fraction, computed here once
// (Machin's formula with BigInt) instead of being carried as a table.
import { createHmac } from 'node:crypto';

const WORDS = 18 + 4 * 256;
let PI_WORDS: Uint32Array | undefined;

/** The first `WORDS` 32-bit words of π's fractional part (0x243f6a88, 0x85a308d3, …). */
function piWords(): Uint32Array {
  if (PI_WORDS) return PI_WORDS;
  const bits = BigInt(WORDS * 32 + 64); // 64 guard bits
  const one = 1n << bits;
  const atanInv = (x: bigint): bigint => {
    // atan(1/x) = Σ (-1)^k / ((2k+1) x^(2k+1)), fixed point with `bits` fraction bits
    let term = one / x;
    const x2 = x * x;
    let sum = 0n;
    for (let k = 0n; term !== 0n; k++) {
      sum += (k % 2n === 0n ? 1n : -1n) * (term / (2n * k + 1n));
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  let frac = (pi & (one - 1n)) >> 64n;
  const out = new Uint32Array(WORDS);
  for (let i = WORDS - 1; i >= 0; i--) {
    out[i] = Number(frac & 0xffffffffn);
    frac >>= 32n;
  }
  PI_WORDS = out;
  return out;
}

interface State {
  readonly P: Uint32Array;
  readonly S: Uint32Array; // four boxes of 256, back to back
}

function encipher(st: State, lr: Uint32Array, off: number): void {
  const { P, S } = st;
  let l = lr[off]!;
  let r = lr[off + 1]!;
  for (let i = 0; i < 16; i += 2) {
    l ^= P[i]!;
    r ^= (((S[l >>> 24]! + S[256 | ((l >>> 16) & 0xff)]!) ^ S[512 | ((l >>> 8) & 0xff)]!) + S[768 | (l & 0xff)]!) >>> 0;
    r ^= P[i + 1]!;
    l ^= (((S[r >>> 24]! + S[256 | ((r >>> 16) & 0xff)]!) ^ S[512 | ((r >>> 8) & 0xff)]!) + S[768 | (r & 0xff)]!) >>> 0;
  }
  lr[off] = (r ^ P[17]!) >>> 0;
  lr[off + 1] = (l ^ P[16]!) >>> 0;
}

/** Reads the next big-endian 32-bit word of `data`, cycling; `pos[0]` is the byte offset. */
function streamWord(data: Uint8Array, pos: number[]): number {
  let w = 0;
  for (let i = 0; i < 4; i++) {
    w = ((w << 8) | data[pos[0]!]!) >>> 0;
    pos[0] = (pos[0]! + 1) % data.length;
  }
  return w;
}

/** Blowfish key schedule with bcrypt's salt (EksBlowfish's ExpandKey); `salt` undefined = plain. */
function expand(st: State, key: Uint8Array, salt?: Uint8Array): void {
  const kp = [0];
  for (let i = 0; i < 18; i++) st.P[i] = (st.P[i]! ^ streamWord(key, kp)) >>> 0;
  const lr = new Uint32Array(2);
  const sp = [0];
  const next = (arr: Uint32Array, i: number) => {
    if (salt) {
      lr[0] = (lr[0]! ^ streamWord(salt, sp)) >>> 0;
      lr[1] = (lr[1]! ^ streamWord(salt, sp)) >>> 0;
    }
    encipher(st, lr, 0);
    arr[i] = lr[0]!;
    arr[i + 1] = lr[1]!;
  };
  for (let i = 0; i < 18; i += 2) next(st.P, i);
  for (let i = 0; i < 1024; i += 2) next(st.S, i);
}

const B64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function encode64(d: Uint8Array, len: number): string {
  let out = '';
  for (let i = 0; i < len; ) {
    const c1 = d[i++]!;
    out += B64[c1 >> 2];
    let c = (c1 & 0x03) << 4;
    if (i >= len) {
      out += B64[c];
      break;
    }
    const c2 = d[i++]!;
    out += B64[c | (c2 >> 4)];
    c = (c2 & 0x0f) << 2;
    if (i >= len) {
      out += B64[c];
      break;
    }
    const c3 = d[i++]!;
    out += `${B64[c | (c3 >> 6)]!}${B64[c3 & 0x3f]!}`;
  }
  return out;
}

function decode64(s: string, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const v = (ch: string) => {
    const x = B64.indexOf(ch);
    if (x < 0) throw new Error(`bcrypt: ${JSON.stringify(ch)} is not a bcrypt base64 character`);
    return x;
  };
  let o = 0;
  for (let i = 0; o < len && i < s.length; i += 4) {
    const c1 = v(s[i]!);
    const c2 = v(s[i + 1]!);
    out[o++] = (c1 << 2) | ((c2 & 0x30) >> 4);
    if (o >= len || i + 2 >= s.length) break;
    const c3 = v(s[i + 2]!);
    out[o++] = ((c2 & 0x0f) << 4) | ((c3 & 0x3c) >> 2);
    if (o >= len || i + 3 >= s.length) break;
    const c4 = v(s[i + 3]!);
    out[o++] = ((c3 & 0x03) << 6) | c4;
  }
  return out;
}

/**
 * bcrypt of `password` with a 16-byte `salt` and `cost` (4–31; 2^cost rounds), as
 * `$2y$CC$<22 salt chars><31 hash chars>`. The password is UTF-8, NUL-terminated, at most 72 bytes
 * used (bcrypt's limit).
 */
export function bcryptHash(password: string, salt: Uint8Array, cost = 10, prefix: '2a' | '2b' | '2y' = '2y'): string {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error(`bcrypt cost ${cost} is out of range: expected 4–31`);
  if (salt.length !== 16) throw new Error(`bcrypt salt has ${salt.length} bytes: expected 16`);
  const pw = Buffer.from(`${password}\0`, 'utf8');
  const key = new Uint8Array(pw.subarray(0, Math.min(pw.length, 72)));
  const init = piWords();
  const st: State = { P: init.slice(0, 18), S: init.slice(18) };
  expand(st, key, salt);
  for (let i = 0, n = 2 ** cost; i < n; i++) {
    expand(st, key);
    expand(st, salt);
  }
  const text = Buffer.from('OrpheanBeholderScryDoubt', 'latin1');
  const c = new Uint32Array(6);
  for (let i = 0; i < 6; i++) c[i] = text.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 6; j += 2) encipher(st, c, j);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(c[i]!, i * 4);
  return `$${prefix}$${String(cost).padStart(2, '0')}$${encode64(salt, 16)}${encode64(out, 23)}`;
}

/** Checks `password` against a `$2a$`/`$2b$`/`$2y$` hash. */
export function bcryptVerify(password: string, hash: string): boolean {
  const m = /^\$(2[aby])\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/.exec(hash);
  if (!m) return false;
  return bcryptHash(password, decode64(m[3]!, 16), Number(m[2]), m[1] as '2a' | '2b' | '2y') === hash;
}

/**
 * One htpasswd line `user:$2y$…` for CNCF Distribution's htpasswd auth (bcrypt only). The salt is
 * derived from the password and `context` (HMAC), so the same password gives the same line on every
 * run (no Secret churn on each `pulumi up`) while two registries or users never share a hash.
 */
export function htpasswdLine(user: string, password: string, context: string, cost = 10): string {
  if (!/^[^:\s]+$/.test(user)) throw new Error(`htpasswd user ${JSON.stringify(user)} must be non-empty without ":" or spaces`);
  const salt = createHmac('sha256', password).update(`flotilla htpasswd ${user}@${context}`).digest().subarray(0, 16);
  return `${user}:${bcryptHash(password, salt, cost)}\n`;
}
