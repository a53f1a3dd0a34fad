// In-cluster credentials (what client-go's rest.InClusterConfig reads): the API server from
// KUBERNETES_SERVICE_HOST/PORT, its CA from the service-account mount, and the projected token —
// a file the kubelet rotates, so KubeClient re-reads it on every request instead of keeping a copy.
import { accessSync, constants } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class InClusterError extends Error {
  override name = 'InClusterError';
}

/** Loads the in-cluster cluster into `kc` (no user credentials) and returns the token file to send. */
export function loadInCluster(kc: KubeConfig, env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): string {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new InClusterError('in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?); give the host cluster a kubeconfig instead');
  }
  const tokenFile = `${dir}/token`;
  const caFile = `${dir}/ca.crt`;
  for (const f of [tokenFile, caFile]) {
    try {
      accessSync(f, constants.R_OK);
    } catch {
      throw new InClusterError(`in-cluster config: cannot read ${f}: is automountServiceAccountToken on and the service account token mounted?`);
    }
  }
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  kc.loadFromClusterAndUser({ name: 'in-cluster', server, caFile, skipTLSVerify: false }, { name: 'in-cluster' });
  return tokenFile;
}

/** True when this process runs in a pod with a service-account token (in-cluster config usable). */
export function inClusterAvailable(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): boolean {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) return false;
  try {
    accessSync(`${dir}/token`, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
