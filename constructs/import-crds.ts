// Regenerates the typed CRD bindings in constructs/imports/ with `cdk8s import` (offline) from the
// pinned CRD files in ../shared/crds/ plus our own FederatedApp CRD. Only the kinds the constructs
// use are imported; one input file per API group (cdk8s writes one `<group>.ts` per group).
// Run: node bin/run-ts.mjs constructs/import-crds.ts
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const SHARED = resolve('..', 'shared', 'crds');
const OUT = 'constructs/imports';
const TMP = '.scratch/crd-import';

/** group file → [source file, CRD metadata.name][] */
const GROUPS: Record<string, Array<[string, string]>> = {
  'crd.projectcalico.org': [
    ['calico/crd.projectcalico.org_bgpconfigurations.yaml', 'bgpconfigurations.crd.projectcalico.org'],
    ['calico/crd.projectcalico.org_bgppeers.yaml', 'bgppeers.crd.projectcalico.org'],
  ],
  'cert-manager.io': [
    ['cert-manager/cert-manager.io_clusterissuers.yaml', 'clusterissuers.cert-manager.io'],
    ['cert-manager/cert-manager.io_issuers.yaml', 'issuers.cert-manager.io'],
    ['cert-manager/cert-manager.io_certificates.yaml', 'certificates.cert-manager.io'],
  ],
  'networking.istio.io': [
    ['istio/crd-all.gen.yaml', 'destinationrules.networking.istio.io'],
    ['istio/crd-all.gen.yaml', 'gateways.networking.istio.io'],
    ['istio/crd-all.gen.yaml', 'virtualservices.networking.istio.io'],
    ['istio/crd-all.gen.yaml', 'envoyfilters.networking.istio.io'],
  ],
  'security.istio.io': [['istio/crd-all.gen.yaml', 'peerauthentications.security.istio.io']],
  'monitoring.coreos.com': [
    ['prometheus-operator/monitoring.coreos.com_prometheusrules.yaml', 'prometheusrules.monitoring.coreos.com'],
    ['prometheus-operator/monitoring.coreos.com_probes.yaml', 'probes.monitoring.coreos.com'],
    ['prometheus-operator/monitoring.coreos.com_alertmanagerconfigs.yaml', 'alertmanagerconfigs.monitoring.coreos.com'],
  ],
  // ECK: the installed (patched) CRDs, whose podTemplate is free-form — small bindings; manifests
  // are still validated against the full per-resource schemas in tests.
  'elasticsearch.k8s.elastic.co': [['eck/all-crds.yaml', 'elasticsearches.elasticsearch.k8s.elastic.co']],
  'kibana.k8s.elastic.co': [['eck/all-crds.yaml', 'kibanas.kibana.k8s.elastic.co']],
  'beat.k8s.elastic.co': [['eck/all-crds.yaml', 'beats.beat.k8s.elastic.co']],
  'flotilla.dev': [['@local/constructs/crds/flotilla.dev_federatedapps.yaml', 'federatedapps.flotilla.dev']],
};

mkdirSync(TMP, { recursive: true });
mkdirSync(OUT, { recursive: true });
for (const [group, sources] of Object.entries(GROUPS)) {
  const docs: string[] = [];
  for (const [file, name] of sources) {
    const path = file.startsWith('@local/') ? file.slice('@local/'.length) : join(SHARED, file);
    const found = parseAllDocuments(readFileSync(path, 'utf8'))
      .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
      .find((d) => d?.kind === 'CustomResourceDefinition' && d.metadata?.name === name);
    if (!found) throw new Error(`${path}: no CRD named ${name}`);
    docs.push(JSON.stringify(found));
  }
  const input = join(TMP, `${group}.yaml`);
  writeFileSync(input, `${docs.join('\n---\n')}\n`);
  execFileSync('npx', ['cdk8s', 'import', '--no-check-upgrade', input, '--language', 'typescript', '--output', OUT], { stdio: 'inherit' });
}
