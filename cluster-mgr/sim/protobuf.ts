// Just enough of the Kubernetes protobuf encoding to accept what kubectl's typed clients send for
// `kubectl create configmap|secret|namespace` (body `k8s\0` + runtime.Unknown). Other kinds get 415
// naming the alternative (JSON / `kubectl apply`). Responses are always JSON (clients accept it).
import { ApiError } from './errors';
import type { KObject } from './selectors';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  no: number;
  wire: number;
  value: bigint | Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new ApiError(400, 'BadRequest', 'protobuf body: truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw new ApiError(400, 'BadRequest', 'protobuf body: varint too long');
  }
}

export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      out.push({ no, wire, value: v });
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      if (end > buf.length) throw new ApiError(400, 'BadRequest', 'protobuf body: truncated field');
      out.push({ no, wire, value: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      out.push({ no, wire, value: buf.subarray(pos, pos + n) });
      pos += n;
    } else throw new ApiError(400, 'BadRequest', `protobuf body: unsupported wire type ${wire}`);
  }
  return out;
}

const str = (f: Field) => (f.value as Buffer).toString('utf8');
const bytesOf = (f: Field) => f.value as Buffer;

function map(fs: Field[], no: number, asBytes = false): Record<string, string> | undefined {
  const entries = fs.filter((f) => f.no === no && f.wire === 2);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = fields(bytesOf(e));
    const k = kv.find((x) => x.no === 1);
    const v = kv.find((x) => x.no === 2);
    out[k ? str(k) : ''] = v ? (asBytes ? bytesOf(v).toString('base64') : str(v)) : '';
  }
  return out;
}

function objectMeta(buf: Buffer): KObject {
  const fs = fields(buf);
  const meta: KObject = {};
  for (const f of fs) {
    if (f.wire !== 2 || bytesOf(f).length === 0) continue; // proto2 encodes empty strings; JSON omits them
    if (f.no === 1) meta.name = str(f);
    else if (f.no === 2) meta.generateName = str(f);
    else if (f.no === 3) meta.namespace = str(f);
    else if (f.no === 6) meta.resourceVersion = str(f);
    else if (f.no === 14) (meta.finalizers ??= []).push(str(f));
  }
  const labels = map(fs, 11);
  const annotations = map(fs, 12);
  if (labels) meta.labels = labels;
  if (annotations) meta.annotations = annotations;
  return meta;
}

const bool = (fs: Field[], no: number) => {
  const f = fs.find((x) => x.no === no && x.wire === 0);
  return f ? f.value !== 0n : undefined;
};

/** Decodes a protobuf request body into the JSON object the rest of the server works with. */
export function decodeProtobuf(body: Buffer): KObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ApiError(400, 'BadRequest', 'protobuf body: missing the k8s\\0 prefix');
  const unknown = fields(body.subarray(4));
  const tm = unknown.find((f) => f.no === 1);
  const raw = unknown.find((f) => f.no === 2);
  const tmf = tm ? fields(bytesOf(tm)) : [];
  const apiVersion = tmf.find((f) => f.no === 1);
  const kindF = tmf.find((f) => f.no === 2);
  const kind = kindF ? str(kindF) : '';
  const obj = raw ? fields(bytesOf(raw)) : [];
  const metaF = obj.find((f) => f.no === 1 && f.wire === 2);
  const out: KObject = { apiVersion: apiVersion ? str(apiVersion) : 'v1', kind, metadata: metaF ? objectMeta(bytesOf(metaF)) : {} };
  switch (kind) {
    case 'ConfigMap': {
      const data = map(obj, 2);
      const bin = map(obj, 3, true);
      if (data) out.data = data;
      if (bin) out.binaryData = bin;
      const imm = bool(obj, 4);
      if (imm !== undefined) out.immutable = imm;
      return out;
    }
    case 'Secret': {
      const data = map(obj, 2, true);
      const type = obj.find((f) => f.no === 3 && f.wire === 2);
      const sd = map(obj, 4);
      if (data) out.data = data;
      if (type && str(type) !== '') out.type = str(type);
      if (sd) out.data = { ...(out.data ?? {}), ...Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
      const imm = bool(obj, 5);
      if (imm !== undefined) out.immutable = imm;
      return out;
    }
    case 'Namespace':
      return out;
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the Flotilla simulator accepts protobuf bodies only for ConfigMap, Secret and Namespace (got ${kind || 'an unknown kind'}): send JSON, e.g. with kubectl apply -f`,
      );
  }
}
