// The FederatedApp CRD's structural schema (constructs/crds/flotilla.dev_federatedapps.yaml,
// spec.versions[v1alpha1].schema.openAPIV3Schema), and pruning of unknown fields the way the real API
// server does it for a structural schema. test/conformance/sim-crd.test.ts fails when this copy and
// the CRD file differ.
import type { KObject } from './selectors';

export interface StructuralSchema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, StructuralSchema>>;
  readonly additionalProperties?: StructuralSchema | boolean;
  readonly items?: StructuralSchema;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly [k: string]: unknown;
}

export const FEDERATED_APP_SCHEMA: StructuralSchema = 
{
  "type": "object",
  "description": "An app cluster-mgr spreads over the member clusters of a federation.",
  "required": [
    "spec"
  ],
  "properties": {
    "apiVersion": {
      "type": "string"
    },
    "kind": {
      "type": "string"
    },
    "metadata": {
      "type": "object"
    },
    "spec": {
      "type": "object",
      "required": [
        "replicas",
        "template"
      ],
      "properties": {
        "replicas": {
          "type": "integer",
          "minimum": 0,
          "description": "Total replicas over all member clusters (the autoscaler may change it within autoscale.min..max)."
        },
        "template": {
          "type": "object",
          "description": "The workload as written for one cluster (a Deployment); its replicas are set per member.",
          "required": [
            "apiVersion",
            "kind",
            "metadata",
            "spec"
          ],
          "x-kubernetes-preserve-unknown-fields": true,
          "properties": {
            "apiVersion": {
              "type": "string",
              "enum": [
                "apps/v1"
              ]
            },
            "kind": {
              "type": "string",
              "enum": [
                "Deployment"
              ]
            },
            "metadata": {
              "type": "object",
              "x-kubernetes-preserve-unknown-fields": true
            },
            "spec": {
              "type": "object",
              "x-kubernetes-preserve-unknown-fields": true
            }
          }
        },
        "placement": {
          "type": "object",
          "properties": {
            "clusterSelector": {
              "type": "object",
              "description": "Member labels that must all match.",
              "additionalProperties": {
                "type": "string"
              }
            },
            "spread": {
              "type": "string",
              "enum": [
                "capacity",
                "weighted",
                "duplicate"
              ],
              "default": "capacity",
              "description": "capacity (by free capacity), weighted (by member weight) or duplicate (the full count on every member)."
            },
            "perCluster": {
              "type": "object",
              "description": "Per-member bounds, keyed by member name.",
              "additionalProperties": {
                "type": "object",
                "properties": {
                  "min": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "max": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "weight": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              }
            }
          }
        },
        "autoscale": {
          "type": "object",
          "required": [
            "query",
            "targetPerReplica",
            "min",
            "max"
          ],
          "properties": {
            "query": {
              "type": "string",
              "minLength": 1,
              "description": "PromQL; desired = ceil(result / targetPerReplica)."
            },
            "targetPerReplica": {
              "type": "number",
              "exclusiveMinimum": true,
              "minimum": 0
            },
            "min": {
              "type": "integer",
              "minimum": 0
            },
            "max": {
              "type": "integer",
              "minimum": 1
            },
            "interval": {
              "type": "string",
              "pattern": "^[0-9]+(ms|s|m|h)$",
              "default": "30s"
            }
          }
        },
        "propagate": {
          "type": "array",
          "description": "Objects copied to every member the app runs in.",
          "items": {
            "type": "object",
            "required": [
              "kind",
              "name"
            ],
            "properties": {
              "kind": {
                "type": "string",
                "enum": [
                  "ConfigMap",
                  "Secret",
                  "PersistentVolumeClaim"
                ]
              },
              "name": {
                "type": "string",
                "minLength": 1
              }
            }
          }
        }
      }
    },
    "status": {
      "type": "object",
      "x-kubernetes-preserve-unknown-fields": true
    }
  }
};

const isObj = (v: unknown): v is KObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Removes, in place, the fields `schema` does not specify (unless it preserves unknown fields). */
export function prune(value: unknown, schema: StructuralSchema | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const x of value) prune(x, schema.items);
    return;
  }
  if (!isObj(value)) return;
  const props = schema.properties;
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const k of Object.keys(value)) {
    const sub = props?.[k];
    if (sub) prune(value[k], sub);
    else if (extra) prune(value[k], extra);
    else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) delete value[k];
  }
}

/** Prunes a FederatedApp in place; apiVersion, kind and metadata are the server's (not pruned here). */
export function pruneFederatedApp(obj: KObject): void {
  const props = FEDERATED_APP_SCHEMA.properties ?? {};
  for (const k of Object.keys(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    if (props[k]) prune(obj[k], props[k]);
    else delete obj[k];
  }
}
