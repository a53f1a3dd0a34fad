// A minimal OpenAPI v3 surface: the discovery index (/openapi/v3) and one document per group-version
// listing each resource's operations with `x-kubernetes-group-version-kind` and the query parameters
// the server honours. kubectl reads it to learn that the server supports `fieldValidation` (so it
// validates server-side instead of downloading full schemas). No component schemas: `kubectl
// explain` is out of scope.
import { createHash } from 'node:crypto';
import { groupVersion, RESOURCES } from './resources';

const param = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
const WRITE_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation'].map(param);
const PATCH_PARAMS = [...WRITE_PARAMS, param('force')];
const LIST_PARAMS = ['labelSelector', 'fieldSelector', 'resourceVersion', 'timeoutSeconds', 'watch', 'allowWatchBookmarks', 'sendInitialEvents', 'resourceVersionMatch', 'limit', 'continue'].map(param);
const OK = { responses: { '200': { description: 'OK' } } };

/** Path of the group-version document ("api/v1", "apis/apps/v1"). */
const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

export function openApiGroupVersionDoc(group: string, version: string): Record<string, unknown> | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of rs) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const ext = (action: string) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, ...OK });
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
    paths[base] = {
      get: { ...ext('list'), parameters: LIST_PARAMS },
      post: { ...ext('post'), parameters: WRITE_PARAMS },
      delete: { ...ext('deletecollection'), parameters: LIST_PARAMS },
    };
    paths[`${base}/{name}`] = {
      get: { ...ext('get'), parameters: [] },
      put: { ...ext('put'), parameters: WRITE_PARAMS },
      patch: { ...ext('patch'), parameters: PATCH_PARAMS },
      delete: { ...ext('delete'), parameters: [param('dryRun')] },
    };
    if (r.status)
      paths[`${base}/{name}/status`] = { get: { ...ext('get'), parameters: [] }, put: { ...ext('put'), parameters: WRITE_PARAMS }, patch: { ...ext('patch'), parameters: PATCH_PARAMS } };
    if (r.scale) {
      const sgvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
      const sext = (action: string) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': sgvk, ...OK });
      paths[`${base}/{name}/scale`] = { get: { ...sext('get'), parameters: [] }, put: { ...sext('put'), parameters: WRITE_PARAMS }, patch: { ...sext('patch'), parameters: PATCH_PARAMS } };
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (Flotilla simulator)', version: 'v1.32.0' },
    paths,
    components: { schemas: {} },
  };
}

export function openApiIndex(): Record<string, unknown> {
  const gvs = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) gvs.set(groupVersion(r), { group: r.group, version: r.version });
  const paths: Record<string, unknown> = {};
  for (const { group, version } of gvs.values()) {
    const hash = createHash('sha512').update(JSON.stringify(openApiGroupVersionDoc(group, version))).digest('hex').slice(0, 64).toUpperCase();
    paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}` };
  }
  return { paths };
}
