// Test harness for the Pulumi program under `pulumi.runtime.setMocks`: records what the program sends
// to the resource monitor (type, name, provider, explicit dependencies, parent) and the inputs the
// mocks receive. Completion is awaited with the SDK's own RPC drain (what `pulumi up` waits for),
// never with sleeps.
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';

/** Pulumi's marker for a secret value in serialized inputs. */
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
const SIG_KEY = '4dabf18193072939515e22adb298388d';

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Provider reference (`urn::id`), '' when the default provider would be used. */
  readonly provider: string;
  /** URNs of explicit dependencies (dependsOn). */
  readonly dependencies: readonly string[];
  readonly parent: string;
  readonly custom: boolean;
  inputs: Record<string, unknown>;
}

export const isSecret = (v: unknown): boolean => typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
/** Removes secret wrappers (to inspect values). */
export function unwrap(v: unknown): unknown {
  if (isSecret(v)) return unwrap((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

export class Recorder {
  readonly resources: Registered[] = [];
  private readonly inputs = new Map<string, Record<string, unknown>>();
  byType(type: string): Registered[] {
    return this.resources.filter((r) => r.type === type);
  }
  named(name: string): Registered {
    const r = this.resources.find((x) => x.name === name);
    if (!r) throw new Error(`no resource named ${name}; have ${this.resources.map((x) => x.name).join(', ')}`);
    return r;
  }
  nameOfUrn(urn: string): string {
    return urn.split('::').pop() ?? urn;
  }
  /** @internal */ setInputs(type: string, name: string, inputs: Record<string, unknown>) {
    this.inputs.set(`${type}::${name}`, inputs);
    const r = this.resources.find((x) => x.type === type && x.name === name);
    if (r) r.inputs = inputs;
  }
  /** @internal */ add(r: Omit<Registered, 'inputs'>) {
    this.resources.push({ ...r, inputs: this.inputs.get(`${r.type}::${r.name}`) ?? {} });
  }
}

/** Installs mocks + config and returns the recorder. Call before importing the program. */
export async function installMocks(stack: string, config: Record<string, string>, secretKeys: string[]): Promise<Recorder> {
  const rec = new Recorder();
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        rec.setInputs(a.type, a.name, a.inputs as Record<string, unknown>);
        return { id: `${a.name}-id`, state: a.type === 'kubernetes:core/v1:Secret' ? apiServerSecret(a.name, a.inputs as Record<string, unknown>) : a.inputs };
      },
      call: (a) => a.inputs,
    },
    'flotilla-site',
    stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: RegisterRequest, cb: (err: unknown, res: unknown) => void) => void;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const parent = req.getParent();
    const type = req.getType();
    const urn = `urn:pulumi:${stack}::flotilla-site::${parent ? `${parent.split('::')[2]!.split('$').pop()}$` : ''}${type}::${req.getName()}`;
    rec.add({ type, name: req.getName(), urn, provider: req.getProvider(), dependencies: req.getDependenciesList(), parent, custom: req.getCustom() });
    original(req, cb);
  };
  pulumi.runtime.setAllConfig(config, secretKeys);
  return rec;
}

/** A member token in the mocked runs (what the token controller would write), by resource name. */
export const fixtureMemberToken = (resource: string): string => `fixture-member-token-${resource}`;
export const FIXTURE_MEMBER_CA = '-----BEGIN CERTIFICATE-----\nfixture-member-ca\n-----END CERTIFICATE-----\n';

/**
 * What the API server returns for a Secret: `stringData` merged into base64 `data`; a
 * service-account token Secret also gets the token controller's `token` and `ca.crt`.
 */
function apiServerSecret(name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const b64 = (v: unknown) => Buffer.from(String(v)).toString('base64');
  const data: Record<string, string> = { ...((unwrap(inputs.data) as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries((unwrap(inputs.stringData) as Record<string, unknown> | undefined) ?? {})) data[k] = b64(v);
  if (inputs.type === 'kubernetes.io/service-account-token') Object.assign(data, { token: b64(fixtureMemberToken(name)), 'ca.crt': b64(FIXTURE_MEMBER_CA) });
  return { ...inputs, data };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getProvider(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
}

/** Waits until every registration the program started has been answered. */
export async function drain(): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();
}

/**
 * The runtime config of a stack file: `{secure: …}` values are replaced by `secrets[key]` (and
 * marked secret), structured values become JSON text — what the Pulumi CLI hands the program.
 */
export function stackConfig(file: string, secrets: Record<string, string> = {}, extra: Record<string, string> = {}): { config: Record<string, string>; secretKeys: string[] } {
  const doc = parse(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    if (typeof v === 'object' && v !== null && 'secure' in v) {
      if (secrets[k] === undefined) continue;
      config[k] = secrets[k]!;
      secretKeys.push(k);
    } else {
      config[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  for (const [k, v] of Object.entries(secrets)) {
    if (config[k] === undefined) {
      config[k] = v;
      secretKeys.push(k);
    }
  }
  return { config: { ...config, ...extra }, secretKeys };
}
