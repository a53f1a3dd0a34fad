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

/** A FederatedApp's `template` (a Deployment selecting `app: <name>`) with one container. */
export function deploymentTemplate(name: string, container: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [container] } } },
  };
}
