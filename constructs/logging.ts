// Logging (ECK): Elasticsearch, Kibana, a Filebeat DaemonSet collecting container stdout and the
// file logs pods write under `<fileLogsHostPath>/<namespace>_<pod>/*.log`, JSON parsing in an
// Elasticsearch ingest pipeline (no Logstash) and retention by an ILM policy.
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Beat } from './imports/beat.k8s.elastic.co';
import { Elasticsearch, ElasticsearchSpecNodeSetsVolumeClaimTemplatesSpecResourcesRequests } from './imports/elasticsearch.k8s.elastic.co';
import { Kibana } from './imports/kibana.k8s.elastic.co';
import { apiObject, checkDnsName, checkLabel, checkPositiveInt, checkQuantity, containerResources, dropAddressLabel, hardenPod, labels, PropError, resources, scriptPod } from './common';

const NAME = 'Logging';
/** Elastic Stack version the ECK operator deploys (ECK 3.5 supports 8.x and 9.x stacks). */
export const ELASTIC_STACK_VERSION = '9.2.0';
export const SETUP_IMAGE = 'docker.io/curlimages/curl:8.11.1';
export const INGEST_PIPELINE = 'flotilla-json';
export const ILM_POLICY = 'flotilla-logs';

export interface LoggingProps {
  /**
   * Elasticsearch data nodes.
   * @default - 3
   */
  readonly nodes?: number;
  /**
   * Data volume per Elasticsearch node.
   * @default - '100Gi'
   */
  readonly storage?: string;
  /**
   * StorageClass of the data volumes.
   * @default - the cluster's default StorageClass
   */
  readonly storageClass?: string;
  /**
   * Days logs are kept (ILM delete phase).
   * @default - 7
   */
  readonly retentionDays?: number;
  /**
   * Host folder pods write file logs into, one `<namespace>_<pod>` folder each.
   * @default - '/var/log/k8s'
   */
  readonly fileLogsHostPath?: string;
  /**
   * Namespace for the stack.
   * @default - 'logging'
   */
  readonly namespace?: string;
  /**
   * Elastic Stack version.
   * @default - ELASTIC_STACK_VERSION
   */
  readonly version?: string;
  /**
   * Image registry prefix for Elastic images (air-gapped sites), e.g. `registry.example.com`.
   * @default - docker.elastic.co
   */
  readonly registry?: string;
  /**
   * Image of the one-shot setup Job (ILM policy + ingest pipeline).
   * @default - SETUP_IMAGE
   */
  readonly setupImage?: string;
}

/** Filebeat configuration (exported for tests). */
export function filebeatConfig(fileLogsHostPath: string): Record<string, unknown> {
  return {
    'filebeat.inputs': [
      {
        type: 'filestream',
        id: 'container-stdout',
        paths: ['/var/log/containers/*.log'],
        'prospector.scanner.symlinks': true,
        parsers: [{ container: { stream: 'all', format: 'auto' } }],
        processors: [{ add_kubernetes_metadata: { host: '${NODE_NAME}', matchers: [{ logs_path: { logs_path: '/var/log/containers/' } }] } }],
      },
      {
        type: 'filestream',
        id: 'pod-file-logs',
        paths: [`${fileLogsHostPath}/*_*/*.log`],
        processors: [
          {
            dissect: {
              field: 'log.file.path',
              tokenizer: `${fileLogsHostPath}/%{kubernetes.namespace}_%{kubernetes.pod.name}/%{log_file_name}`,
              target_prefix: '',
            },
          },
        ],
      },
    ],
    'output.elasticsearch': { pipeline: INGEST_PIPELINE, index: 'flotilla-logs' },
    'setup.ilm.enabled': true,
    'setup.ilm.policy_name': ILM_POLICY,
    'setup.ilm.overwrite': false,
    'setup.template.name': 'flotilla-logs',
    'setup.template.pattern': 'flotilla-logs*',
    'logging.level': 'info',
  };
}

/** The ingest pipeline: JSON lines become fields under `json`, other lines pass unchanged. */
export function ingestPipeline(): Record<string, unknown> {
  return {
    description: 'Flotilla: parse JSON log lines',
    processors: [
      { json: { field: 'message', target_field: 'json', if: "ctx.message != null && ctx.message.startsWith('{')", ignore_failure: true } },
      { set: { field: 'event.ingested', value: '{{_ingest.timestamp}}' } },
    ],
  };
}

/** ILM: roll over daily or at 50 GB, delete after `retentionDays`. */
export function ilmPolicy(retentionDays: number): Record<string, unknown> {
  return {
    policy: {
      phases: {
        hot: { actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' } } },
        delete: { min_age: `${retentionDays}d`, actions: { delete: {} } },
      },
    },
  };
}

export class Logging extends Construct {
  constructor(scope: Construct, id: string, props: LoggingProps = {}) {
    super(scope, id);
    const nodes = props.nodes ?? 3;
    const storage = props.storage ?? '100Gi';
    const retention = props.retentionDays ?? 7;
    const hostPath = props.fileLogsHostPath ?? '/var/log/k8s';
    const ns = props.namespace ?? 'logging';
    const version = props.version ?? ELASTIC_STACK_VERSION;
    checkPositiveInt(NAME, 'nodes', nodes, 100);
    checkQuantity(NAME, 'storage', storage);
    checkPositiveInt(NAME, 'retentionDays', retention, 3650);
    checkLabel(NAME, 'namespace', ns);
    if (props.storageClass !== undefined) checkDnsName(NAME, 'storageClass', props.storageClass);
    if (!hostPath.startsWith('/') || hostPath.length < 2 || hostPath.endsWith('/')) {
      throw new PropError(NAME, 'fileLogsHostPath', hostPath, 'an absolute host folder without a trailing "/", e.g. "/var/log/k8s"');
    }
    if (!/^\d+\.\d+\.\d+$/.test(version)) throw new PropError(NAME, 'version', version, 'an Elastic Stack version such as "9.2.0"');
    const image = (path: string) => `${props.registry ?? 'docker.elastic.co'}/${path}:${version}`;

    apiObject(this, 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

    new Elasticsearch(this, 'Resource', {
      metadata: { name: 'logs', namespace: ns },
      spec: {
        version,
        image: image('elasticsearch/elasticsearch'),
        nodeSets: [
          {
            name: 'default',
            count: nodes,
            config: { 'node.store.allow_mmap': false },
            podTemplate: {
              spec: {
                containers: [{ name: 'elasticsearch', resources: resources('1', '4Gi', '2', '4Gi') }],
              },
            },
            volumeClaimTemplates: [
              {
                metadata: { name: 'elasticsearch-data' },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  resources: { requests: { storage: ElasticsearchSpecNodeSetsVolumeClaimTemplatesSpecResourcesRequests.fromString(storage) } },
                  ...(props.storageClass ? { storageClassName: props.storageClass } : {}),
                },
              },
            ],
          },
        ],
      },
    });

    new Kibana(this, 'Kibana', {
      metadata: { name: 'logs', namespace: ns },
      spec: {
        version,
        image: image('kibana/kibana'),
        count: 1,
        elasticsearchRef: { name: 'logs' },
        podTemplate: { spec: { containers: [{ name: 'kibana', resources: resources('500m', '1Gi', '1', '1Gi') }] } },
      },
    });

    const beatLabels = labels('filebeat', 'logs');
    // Filebeat's pods mount the token themselves (`automountServiceAccountToken: true` below).
    const beatSa = new kplus.ServiceAccount(this, 'FilebeatServiceAccount', { metadata: { name: 'filebeat', namespace: ns, labels: beatLabels } });
    const beatRole = new kplus.ClusterRole(this, 'FilebeatClusterRole', { metadata: { name: `${ns}-filebeat`, labels: beatLabels } });
    beatRole.allow(['get', 'list', 'watch'], kplus.ApiResource.PODS, kplus.ApiResource.NAMESPACES, kplus.ApiResource.NODES);
    new kplus.ClusterRoleBinding(this, 'FilebeatClusterRoleBinding', { metadata: { name: `${ns}-filebeat`, labels: beatLabels }, role: beatRole }).addSubjects(beatSa);
    const hostVolumes: Array<[string, string]> = [
      ['varlogcontainers', '/var/log/containers'],
      ['varlogpods', '/var/log/pods'],
      ['filelogs', hostPath],
    ];
    new Beat(this, 'Filebeat', {
      metadata: { name: 'filebeat', namespace: ns },
      spec: {
        type: 'filebeat',
        version,
        image: image('beats/filebeat'),
        elasticsearchRef: { name: 'logs' },
        kibanaRef: { name: 'logs' },
        config: filebeatConfig(hostPath),
        daemonSet: {
          podTemplate: {
            spec: {
              serviceAccountName: beatSa.name,
              automountServiceAccountToken: true,
              tolerations: [{ operator: 'Exists' }],
              // Reading other users' log files on the host needs uid 0; nothing else is granted.
              securityContext: { runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'filebeat',
                  resources: resources('100m', '200Mi', '500m', '400Mi'),
                  env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                  securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] } },
                  volumeMounts: hostVolumes.map(([name, path]) => ({ name, mountPath: path, readOnly: true })),
                },
              ],
              volumes: hostVolumes.map(([name, path]) => ({ name, hostPath: { path, type: 'DirectoryOrCreate' } })),
            },
          },
        },
      },
    });

    const setup = new kplus.ConfigMap(this, 'SetupConfig', {
      metadata: { name: 'logging-setup', namespace: ns },
      data: {
        'ilm-policy.json': `${JSON.stringify(ilmPolicy(retention), null, 2)}\n`,
        'ingest-pipeline.json': `${JSON.stringify(ingestPipeline(), null, 2)}\n`,
        'setup.sh': [
          '#!/bin/sh',
          'set -eu',
          'ES=https://logs-es-http:9200',
          'auth="elastic:${ELASTIC_PASSWORD}"',
          'put() { curl -fsS --cacert /certs/ca.crt -u "$auth" -H "Content-Type: application/json" -X PUT "$ES/$1" --data-binary "@$2"; echo; }',
          `put _ilm/policy/${ILM_POLICY} /setup/ilm-policy.json`,
          `put _ingest/pipeline/${INGEST_PIPELINE} /setup/ingest-pipeline.json`,
          '',
        ].join('\n'),
      },
    });
    const job = new kplus.Job(this, 'Setup', {
      metadata: { name: 'logging-setup', namespace: ns },
      backoffLimit: 20,
      restartPolicy: kplus.RestartPolicy.ON_FAILURE,
      ...scriptPod(100, '/setup/setup.sh', {
        name: 'setup',
        image: props.setupImage ?? SETUP_IMAGE,
        envVariables: {
          ELASTIC_PASSWORD: kplus.EnvValue.fromSecretValue({ secret: kplus.Secret.fromSecretName(this, 'ElasticUser', 'logs-es-elastic-user'), key: 'elastic' }),
        },
        resources: containerResources('50m', '32Mi', '200m', '64Mi'),
        volumeMounts: [
          { path: '/setup', readOnly: true, volume: kplus.Volume.fromConfigMap(this, 'SetupVolume', setup, { name: 'setup' }) },
          {
            path: '/certs',
            readOnly: true,
            volume: kplus.Volume.fromSecret(this, 'CertsVolume', kplus.Secret.fromSecretName(this, 'HttpCerts', 'logs-es-http-certs-public'), { name: 'certs' }),
          },
        ],
      }),
    });
    dropAddressLabel(job, false);
    hardenPod(job);
  }
}
