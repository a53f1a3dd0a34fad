// A minimal CRI client for tests: gRPC over HTTP/2 on containerd's unix socket (node:http2), with
// the few protobuf fields of runtime.v1 the tests use encoded by hand. It plays kubelet's part in a
// pull: `PullImage` without credentials is what kubelet sends when it has none for the registry.
import http2 from 'node:http2';
import net from 'node:net';

const varint = (n: number): Buffer => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
};

/** A length-delimited protobuf field (strings and embedded messages). */
const field = (no: number, payload: Buffer | string): Buffer => {
  const b = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
};

/** The first length-delimited field `no` of a protobuf message, as text. */
function readString(msg: Buffer, no: number): string | undefined {
  let i = 0;
  const readVarint = () => {
    let v = 0;
    let shift = 0;
    for (let k = 0; k < 10 && i < msg.length; k++) {
      const b = msg[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    return v;
  };
  while (i < msg.length) {
    const key = readVarint();
    const type = key & 7;
    if (type === 2) {
      const len = readVarint();
      const body = msg.subarray(i, i + len);
      i += len;
      if (key >>> 3 === no) return body.toString('utf8');
    } else if (type === 0) readVarint();
    else if (type === 5) i += 4;
    else if (type === 1) i += 8;
    else return undefined;
  }
  return undefined;
}

/** One unary gRPC call; rejects with `grpc-status N: message` on an error status. */
export function grpcCall(socket: string, path: string, body: Buffer, timeoutMs = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const client = http2.connect('http://localhost', { createConnection: () => net.connect(socket) });
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err?: Error, value?: Buffer) => {
      clearTimeout(timer);
      client.close();
      if (err) reject(err);
      else resolve(value!);
    };
    client.on('error', (e) => done(e));
    const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let message = '';
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) {
        status = String(h['grpc-status']);
        message = decodeURIComponent(String(h['grpc-message'] ?? ''));
      }
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (e) => done(e));
    req.on('end', () => {
      if (status !== '0') return done(new Error(`grpc-status ${status ?? '?'}: ${message}`));
      const all = Buffer.concat(chunks);
      done(undefined, all.length >= 5 ? all.subarray(5, 5 + all.readUInt32BE(1)) : Buffer.alloc(0));
    });
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(body.length, 1);
    req.end(Buffer.concat([frame, body]));
  });
}

/** CRI `Version` (runtime.v1): the runtime's name once its CRI plugin serves. */
export async function criVersion(socket: string): Promise<string | undefined> {
  return readString(await grpcCall(socket, '/runtime.v1.RuntimeService/Version', Buffer.alloc(0), 5_000), 2);
}

/** CRI `PullImage` (runtime.v1) without credentials; resolves with the image ref (its config digest). */
export async function criPullImage(socket: string, image: string): Promise<string> {
  const res = await grpcCall(socket, '/runtime.v1.ImageService/PullImage', field(1, field(1, image)));
  return readString(res, 1) ?? '';
}
