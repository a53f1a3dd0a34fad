// Stack configuration (pure): the `flotilla:*` settings of a stack, validated with one strict
// schema, per-environment overrides, and the inventory loaded through the Site model with the extra
// checks a Pulumi run needs. Errors are `FILE:LINE:COL PATH: message`, like `flotilla validate`.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { checkSite, type Issue } from '../site/checks';
import { loadYamlText, type LoadResult } from '../site/document';
import { dnsLabel, ENVIRONMENTS, quantity, resolveFrom, SiteSchema, type Site } from '../site/index';

/** Settings that must be Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ['registryPassword', 'cephKey', 'tsigKey', 'caKey', 'sshPrivateKey', 'kubeconfigs', 'smtpPassword'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

const count = (what: string, max: number) =>
  z
    .number()
    .int({ error: (iss) => `${what} ${JSON.stringify(iss.input)} must be a whole number` })
    .min(1, { error: (iss) => `${what} ${JSON.stringify(iss.input)} must be at least 1` })
    .max(max, { error: (iss) => `${what} ${JSON.stringify(iss.input)} is too large: expected at most ${max}` });

/** What one environment (prod, pre, test) may change in the shared inventory. */
export const EnvironmentOverridesSchema = z
  .strictObject({
    domainPrefix: dnsLabel
      .optional()
      .describe('Prepended to spec.domain: "pre" turns bj1.example.com into pre.bj1.example.com'),
    elasticsearch: z
      .strictObject({
        nodes: count('elasticsearch.nodes', 100).optional(),
        retentionDays: count('retentionDays', 3650).optional(),
        storage: quantity.optional(),
      })
      .optional(),
    monitoring: z.strictObject({ retentionDays: count('retentionDays', 3650).optional() }).optional(),
  })
  .describe('Per-environment overrides of the shared inventory');
export type EnvironmentOverrides = z.output<typeof EnvironmentOverridesSchema>;

const secretValue = z.string().min(1);
const Settings = {
  inventory: z.string().min(1).describe('Inventory file, relative to the project directory'),
  environment: z.enum(ENVIRONMENTS).optional().describe('@default - spec.environment of the inventory'),
  overrides: EnvironmentOverridesSchema.optional(),
  bundle: z.string().min(1).optional().describe('Unpacked bundle directory: air-gapped run'),
  caCert: z.string().min(1).optional().describe('PEM certificate of the private CA (issuer: ca)'),
  registryUser: z.string().min(1).default('flotilla').describe('User of the site registry credentials'),
  cephUser: z.string().min(1).default('admin').describe('Ceph user whose key is flotilla:cephKey'),
  registryPassword: secretValue.optional(),
  cephKey: secretValue.optional(),
  tsigKey: secretValue.optional(),
  caKey: secretValue.optional(),
  smtpPassword: secretValue.optional().describe('SMTP auth password of spec.monitoring.smtp.username'),
  sshPrivateKey: secretValue.optional().describe('@default - the file named by spec.ssh.privateKeyFile'),
  kubeconfigs: z
    .record(z.string(), z.string().min(1))
    .optional()
    .describe('Cluster name → kubeconfig content; @default - the files named by each cluster\'s kubeconfig'),
};
export const StackConfigSchema = z.strictObject(Settings);
export type StackConfig = z.output<typeof StackConfigSchema>;
export const SETTING_NAMES = Object.keys(Settings) as (keyof typeof Settings)[];

/** Keys whose raw config value is JSON (Pulumi passes structured values as JSON text). */
const OBJECT_KEYS = new Set(['overrides', 'kubeconfigs']);

export interface RawStackConfig {
  /** Pulumi config of the stack: full keys (`flotilla:inventory`) → raw string values. */
  readonly values: Readonly<Record<string, string>>;
  /** Full keys Pulumi holds as secrets. */
  readonly secretKeys: ReadonlySet<string>;
  /** The stack's settings file, used to point errors at a line (`stacks/Pulumi.<stack>.yaml`). */
  readonly stackFile?: { readonly path: string; readonly text: string };
  /** Named in errors when the settings did not come from a file. */
  readonly stack: string;
}

const NS = 'flotilla';

/** The stack's `flotilla:*` settings as a plain object (JSON values decoded). */
export function settingsFromValues(values: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(values)) {
    if (!key.startsWith(`${NS}:`)) continue;
    const name = key.slice(NS.length + 1);
    if (OBJECT_KEYS.has(name)) {
      try {
        out[name] = JSON.parse(raw);
      } catch {
        out[name] = raw; // reported by the schema as "expected object"
      }
    } else {
      out[name] = raw;
    }
  }
  return out;
}

/** Validates a stack's settings. Errors point into the stack file when the bad value is there. */
export function parseStackConfig(raw: RawStackConfig): LoadResult<StackConfig> {
  const settings = settingsFromValues(raw.values);
  const plainSecrets: Issue[] = SECRET_KEYS.filter((k) => settings[k] !== undefined && !raw.secretKeys.has(`${NS}:${k}`)).map((k) => ({
    path: ['config', `${NS}:${k}`],
    message: `is stored in plain text: it must be a secret — run \`pulumi config set --secret ${NS}:${k} …\``,
  }));
  const schema = z.strictObject({ config: StackConfigSchema });
  const checks = () => plainSecrets;
  const asDoc = { config: settings };
  const fromValues = schema.safeParse(asDoc);
  if (fromValues.success && plainSecrets.length === 0) return { ok: true, value: fromValues.data.config };
  // Report with positions: first against the stack file (where a human edits settings), else
  // against the effective settings rendered as JSON (valid YAML, so the same loader applies).
  if (raw.stackFile) {
    const fileResult = loadYamlText(StackFileSchema, raw.stackFile.text, raw.stackFile.path, {
      checks: (f) => [...plainSecretsInFile(f), ...plainSecrets],
      what: 'Pulumi stack settings',
    });
    if (!fileResult.ok) return { ok: false, errors: fileResult.errors };
  }
  const keyed = JSON.stringify({ config: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, SECRET_KEYS.includes(k as SecretKey) ? '(secret)' : v])) });
  const res = loadYamlText(schema, keyed, `pulumi config of stack ${raw.stack}`, { checks });
  if (res.ok) return { ok: true, value: fromValues.success ? fromValues.data.config : res.value.config };
  return {
    ok: false,
    errors: res.errors.map((e) => ({ ...e, path: e.path.replace(/^config\.(?!flotilla:)/, `config.${NS}:`) })),
  };
}

/** The stack file's shape: `config:` with namespaced keys; other namespaces pass through. */
const fileSecret = z.union([z.string(), z.strictObject({ secure: z.string().min(1) })]);
const StackFileSchema = z.looseObject({
  config: z
    .looseObject({
      [`${NS}:inventory`]: Settings.inventory,
      [`${NS}:environment`]: Settings.environment,
      [`${NS}:overrides`]: Settings.overrides,
      [`${NS}:bundle`]: Settings.bundle,
      [`${NS}:caCert`]: Settings.caCert,
      [`${NS}:registryUser`]: Settings.registryUser.optional(),
      [`${NS}:cephUser`]: Settings.cephUser.optional(),
      [`${NS}:kubeconfigs`]: z.union([z.record(z.string(), fileSecret), fileSecret]).optional(),
      ...Object.fromEntries(SECRET_KEYS.filter((k) => k !== 'kubeconfigs').map((k) => [`${NS}:${k}`, fileSecret.optional()])),
    })
    .optional(),
});

function plainSecretsInFile(file: z.output<typeof StackFileSchema>): Issue[] {
  const issues: Issue[] = [];
  const cfg = (file.config ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(cfg)) {
    if (!key.startsWith(`${NS}:`)) continue;
    const name = key.slice(NS.length + 1);
    if (!(SETTING_NAMES as string[]).includes(name)) {
      issues.push({ path: ['config', key], message: `unknown setting ${JSON.stringify(key)}: expected one of ${SETTING_NAMES.map((n) => `${NS}:${n}`).join(', ')}` });
    } else if ((SECRET_KEYS as readonly string[]).includes(name) && typeof cfg[key] === 'string') {
      issues.push({ path: ['config', key], message: `is plain text in the stack file: store it with \`pulumi config set --secret ${key} …\`` });
    }
  }
  return issues;
}

/** Applies the environment and its overrides to the inventory model (returns a new Site). */
export function applyEnvironment(site: Site, environment: Site['spec']['environment'] | undefined, overrides: EnvironmentOverrides = {}): Site {
  const es = site.spec.logging.elasticsearch;
  return {
    ...site,
    spec: {
      ...site.spec,
      environment: environment ?? site.spec.environment,
      domain: overrides.domainPrefix ? `${overrides.domainPrefix}.${site.spec.domain}` : site.spec.domain,
      logging: {
        ...site.spec.logging,
        elasticsearch: {
          ...es,
          nodes: overrides.elasticsearch?.nodes ?? es.nodes,
          retentionDays: overrides.elasticsearch?.retentionDays ?? es.retentionDays,
          storage: overrides.elasticsearch?.storage ?? es.storage,
        },
      },
      monitoring: {
        ...site.spec.monitoring,
        retentionDays: overrides.monitoring?.retentionDays ?? site.spec.monitoring.retentionDays,
      },
    },
  };
}

/** Files the run reads, resolved and checked while loading (so a missing one is a positioned error). */
export interface SiteFiles {
  /** Cluster name → kubeconfig path (only clusters without a kubeconfig in `flotilla:kubeconfigs`). */
  readonly kubeconfigs: Readonly<Record<string, string>>;
  /** Private key path, unless `flotilla:sshPrivateKey` is set. */
  readonly privateKey?: string;
  /** known_hosts path when the file exists (pinned host keys). */
  readonly knownHosts?: string;
}

/** Checks the files an inventory names that a Pulumi run needs, given what the config supplies. */
export function siteFileIssues(site: Site, inventoryFile: string, cfg: StackConfig, exists: (p: string) => boolean): Issue[] {
  const issues: Issue[] = [];
  const names = new Set(site.spec.clusters.map((c) => c.name));
  site.spec.clusters.forEach((c, i) => {
    if (cfg.kubeconfigs?.[c.name] !== undefined) return;
    const p = resolveFrom(inventoryFile, c.kubeconfig);
    if (!exists(p)) {
      issues.push({
        path: ['spec', 'clusters', i, 'kubeconfig'],
        message: `kubeconfig ${JSON.stringify(c.kubeconfig)} not found (${p}): create it, or set the secret flotilla:kubeconfigs with an entry for ${JSON.stringify(c.name)}`,
      });
    }
  });
  for (const name of Object.keys(cfg.kubeconfigs ?? {})) {
    if (!names.has(name)) {
      issues.push({ path: ['spec', 'clusters'], message: `flotilla:kubeconfigs has an entry for ${JSON.stringify(name)}, which is not a cluster of this site (clusters: ${[...names].join(', ')})` });
    }
  }
  if (cfg.sshPrivateKey === undefined) {
    const p = resolveFrom(inventoryFile, site.spec.ssh.privateKeyFile);
    if (!exists(p)) {
      issues.push({
        path: ['spec', 'ssh', 'privateKeyFile'],
        message: `private key ${JSON.stringify(site.spec.ssh.privateKeyFile)} not found (${p}): create it, or set the secret flotilla:sshPrivateKey`,
      });
    }
  }
  return issues;
}

export interface LoadedSite {
  readonly site: Site;
  readonly files: SiteFiles;
}

/** Loads the stack's inventory through the Site model (same messages as `flotilla validate`). */
export async function loadStackSite(cfg: StackConfig, resolvePath: (p: string) => string, exists: (p: string) => boolean = existsSync): Promise<LoadResult<LoadedSite>> {
  const label = cfg.inventory;
  const file = resolvePath(cfg.inventory);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a file' : (err as Error).message;
    return { ok: false, errors: [{ file: label, line: 0, col: 0, path: '(file)', message: `cannot read: ${reason}` }] };
  }
  const res = loadYamlText(SiteSchema, text, label, {
    what: 'Site',
    checks: (site) => {
      const base = checkSite(site);
      return base.length > 0 ? base : siteFileIssues(site, file, cfg, exists);
    },
  });
  if (!res.ok) return res;
  const site = res.value;
  const kubeconfigs: Record<string, string> = {};
  for (const c of site.spec.clusters) if (cfg.kubeconfigs?.[c.name] === undefined) kubeconfigs[c.name] = resolveFrom(file, c.kubeconfig);
  const knownHosts = resolveFrom(file, site.spec.ssh.knownHostsFile);
  return {
    ok: true,
    value: {
      site,
      files: {
        kubeconfigs,
        privateKey: cfg.sshPrivateKey === undefined ? resolveFrom(file, site.spec.ssh.privateKeyFile) : undefined,
        knownHosts: exists(knownHosts) ? knownHosts : undefined,
      },
    },
  };
}
