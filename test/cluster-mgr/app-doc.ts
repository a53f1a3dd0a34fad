// A FederatedApp document (YAML text) for tests that write `--apps` folders.
export function federatedAppYaml(
  name: string,
  o: { namespace: string; replicas: number | string; image?: string; requests?: string; placementExtra?: string },
): string {
  return `apiVersion: flotilla.dev/v1alpha1
kind: FederatedApp
metadata: { name: ${name}, namespace: ${o.namespace} }
spec:
  replicas: ${o.replicas}
  template:
    apiVersion: apps/v1
    kind: Deployment
    spec:
      selector: { matchLabels: { app: ${name} } }
      template:
        metadata: { labels: { app: ${name} } }
        spec: { containers: [{ name: c, image: ${o.image ?? 'x'}, resources: { requests: ${o.requests ?? '{ cpu: 100m }'} } }] }
  placement: { spread: weighted${o.placementExtra ?? ''} }
`;
}

/** A FederatedApp's `template` (a Deployment named `name`, selector and pod label `app: name`) with this pod spec. */
export function deploymentTemplate(name: string, podSpec: Record<string, unknown>, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, ...(annotations ? { annotations } : {}) }, spec: podSpec },
    },
  };
}
