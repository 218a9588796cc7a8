// JSON Schemas of Redline's own documents (apiVersion redline.dev/v1alpha1): Plan, Policy,
// PolicyException, LibrarySettings and PolicyTest. Validated with ajv; each error is mapped back to a file position by the loader.

import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { DNS_LABEL, DNS_LABEL_MAX, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX } from '../../core/names.js';
import { Quantity } from './quantity.js';

export const API_VERSION = 'redline.dev/v1alpha1';

/** A dotted field path such as spec.cluster.shards or spec.template.spec.containers[*].resources. */
export const FIELD_PATH = '^[A-Za-z_$][\\w$-]*(\\.[A-Za-z_$][\\w$-]*|\\[(\\d+|\\*)\\])*$';

const name = { type: 'string', pattern: DNS_LABEL.source, maxLength: DNS_LABEL_MAX };
const quantity = { type: 'string', format: 'quantity' };
const cel = { type: 'string', minLength: 1 };
const metadata = {
  type: 'object', required: ['name'], additionalProperties: false,
  properties: { name, labels: { type: 'object' }, annotations: { type: 'object' } },
};

/** A Kubernetes Toleration; a plan lists the ones a tenant may use, compared field by field. */
const toleration = {
  type: 'object', additionalProperties: false,
  properties: {
    key: { type: 'string' },
    operator: { enum: ['Equal', 'Exists'] },
    value: { type: 'string' },
    effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
    tolerationSeconds: { type: 'integer' },
  },
};
/** A DNS name suffix such as `redis.example.com` (no wildcard, no leading dot). */
const dnsSuffix = {
  type: 'string', maxLength: DNS_SUBDOMAIN_MAX, pattern: DNS_SUBDOMAIN.source,
};
/**
 * A Kubernetes object name as written, exactly: no glob. A tenant picks the names of its own objects,
 * so a pattern would waive a rule for every object it chooses to name to fit.
 */
const objectName = { type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' };
/** A label value (what `redline.dev/tenant` holds). */
const labelValue = { type: 'string', maxLength: 63, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' };
/** A date (2027-01-15, meaning 00:00 UTC) or an RFC 3339 time (2027-01-15T12:00:00Z). */
const timestamp = { type: 'string', format: 'timestamp' };
export const ROLES = ['workload', 'pod', 'pdb', 'other-pod', 'other-workload', 'certificate'];
export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

const header = (kind: string): Record<string, unknown> => ({
  apiVersion: { const: API_VERSION },
  kind: { const: kind },
  metadata,
});

export const planSchema = {
  type: 'object', required: ['apiVersion', 'kind', 'metadata', 'spec'], additionalProperties: false,
  properties: {
    ...header('Plan'),
    spec: {
      type: 'object', additionalProperties: false,
      required: ['modes', 'maxShards', 'maxPodsPerShard', 'perPod', 'maxTotalMemory', 'defaults', 'quota'],
      properties: {
        description: { type: 'string' },
        modes: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['Standalone', 'Replicated', 'Cluster'] } },
        maxShards: { type: 'integer', minimum: 1 },
        maxPodsPerShard: { type: 'integer', minimum: 1 },
        perPod: {
          type: 'object', additionalProperties: false, required: ['memory', 'cpu', 'storage'],
          properties: { memory: quantity, cpu: quantity, storage: quantity },
        },
        maxTotalMemory: quantity,
        storageClasses: { type: 'array', items: { type: 'string', minLength: 1 } },
        // Resources other than cpu, memory and ephemeral-storage a container may ask for (GPUs,
        // hugepages): none unless listed.
        extendedResources: { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 } },
        versions: { type: 'array', items: { type: 'string', pattern: '^\\d+(\\.\\d+){0,2}$' } },
        // Requests and limits for containers that have none, per role: memory/cpu for the containers
        // that run Redis, sentinel for Sentinels (absent: memory/cpu), other for every other container
        // (exporters, sidecars, init containers: the LimitRange Container default; absent: memory/cpu).
        defaults: {
          type: 'object', additionalProperties: false, required: ['memory', 'cpu'],
          properties: {
            memory: quantity, cpu: quantity,
            sentinel: { type: 'object', additionalProperties: false, required: ['memory', 'cpu'], properties: { memory: quantity, cpu: quantity } },
            other: { type: 'object', additionalProperties: false, required: ['memory', 'cpu'], properties: { memory: quantity, cpu: quantity } },
          },
        },
        // Redis Enterprise: what a tenant's databases and clusters may ask for.
        enterprise: {
          type: 'object', additionalProperties: false,
          properties: {
            // RedisEnterpriseActiveActiveDatabase, RedisEnterpriseRemoteCluster, activeActive on a REC or REDB.
            allowActiveActive: { type: 'boolean' },
            // REC rackAwarenessNodeLabel: the operator then needs a ClusterRole that reads nodes.
            allowRackAwareness: { type: 'boolean' },
            // A database's memorySize at most this (absent: perPod.memory).
            maxDatabaseMemory: quantity,
          },
        },
        tls: {
          type: 'object', additionalProperties: false,
          properties: {
            // Kinds that have no TLS settings at all (RedisFailover) the plan accepts without TLS; [] denies them.
            allowKindsWithoutTLS: { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 } },
          },
        },
        // The whole pod (every container) at most this: the LimitRange `type: Pod` max. Absent: perPod.
        podMax: {
          type: 'object', additionalProperties: false, required: ['memory', 'cpu'],
          properties: { memory: quantity, cpu: quantity },
        },
        // Every container at least this (LimitRange Container `min`), so the API server refuses a limit of 0.
        containerMin: {
          type: 'object', additionalProperties: false, required: ['memory', 'cpu'],
          properties: { memory: quantity, cpu: quantity },
        },
        // What a tenant's pods may use to get scheduled: priority classes by name, tolerations exactly as listed.
        scheduling: {
          type: 'object', additionalProperties: false,
          properties: {
            priorityClasses: { type: 'array', uniqueItems: true, items: { ...dnsSuffix, not: { pattern: '^system-' } } },
            tolerations: { type: 'array', items: toleration },
            // Beyond "", "default" and the name the operators derive from the Redis object.
            serviceAccounts: { type: 'array', uniqueItems: true, items: dnsSuffix },
            runtimeClasses: { type: 'array', uniqueItems: true, items: dnsSuffix },
            schedulers: { type: 'array', uniqueItems: true, items: dnsSuffix },
          },
        },
        serviceTypes: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: SERVICE_TYPES } },
        certificates: {
          type: 'object', additionalProperties: false,
          properties: { allowedDomains: { type: 'array', uniqueItems: true, items: dnsSuffix } },
        },
        // How the pods of a shard are placed and how many there must be (a plan decides what it sells).
        availability: {
          type: 'object', additionalProperties: false,
          properties: {
            // required: a DoNotSchedule zone topology spread (maxSkew 1) or required zone anti-affinity;
            // preferred: a warning when there is none; none: not checked.
            zones: { enum: ['none', 'preferred', 'required'] },
            // Every shard has at least one replica besides its primary.
            replicaPerShard: { type: 'boolean' },
            // Sentinels spread over at least this many zones (odd, so a zone's loss keeps a majority):
            // a DoNotSchedule zone spread with minDomains ≥ this on their pod template. 0: off.
            sentinelZones: { type: 'integer', anyOf: [{ const: 0 }, { minimum: 3, maximum: 15, not: { multipleOf: 2 } }] },
          },
        },
        persistence: {
          type: 'object', additionalProperties: false,
          properties: {
            // Ephemeral caches allowed: KubeDB storageType Ephemeral, replicated data on emptyDir.
            allowEphemeral: { type: 'boolean' },
            // KubeDB deletionPolicy WipeOut (volumes and backups go with one delete).
            allowWipeOut: { type: 'boolean' },
          },
        },
        // maxmemory must stay this far under the memory limit (replication buffers, fork copy-on-write).
        maxmemoryHeadroomPercent: { type: 'integer', minimum: 0, maximum: 90 },
        images: {
          type: 'object', additionalProperties: false,
          // Registry or repository prefixes ("registry.example.com/", "docker.io/bitnami/redis"); [] allows any.
          properties: { allowed: { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 } } },
        },
        // The plan's node tier: pods must select nodes labelled key=value (nodeSelector) and/or
        // tolerate the taint key=value, and may not select or tolerate another value of key.
        nodeIsolation: {
          type: 'object', additionalProperties: false, required: ['key', 'value'],
          properties: {
            key: { type: 'string', minLength: 1 },
            value: { type: 'string' },
            nodeSelector: { type: 'boolean' },
            toleration: { type: 'boolean' },
          },
        },
        // Entitlements over all of a tenant's namespaces together (the ledger): Redis memory and CPU
        // limits × pods, storage requests × pods, pods, Redis workloads (instances) and namespaces.
        // Absent, or a dimension absent: not limited across namespaces.
        tenantTotals: {
          type: 'object', additionalProperties: false,
          properties: {
            memory: quantity, cpu: quantity, storage: quantity,
            pods: { type: 'integer', minimum: 0 },
            instances: { type: 'integer', minimum: 0 },
            namespaces: { type: 'integer', minimum: 1 },
          },
        },
        // Tenants with several namespaces (dev, staging, prod): whether their Redis may talk across
        // them, and the names their namespaces must have. Not the ledger's tenantTotals.
        tenancy: {
          type: 'object', additionalProperties: false,
          properties: {
            // A stamped NetworkPolicy admits the tenant's other namespaces (Redis ports); off: each namespace alone.
            allowTrafficBetweenNamespaces: { type: 'boolean' },
            // A regular expression the whole namespace name must match, `{tenant}` standing for the
            // tenant id (e.g. "{tenant}-(dev|staging|prod)"); checked when a namespace joins a tenant.
            namespacePattern: { type: 'string', minLength: 1, maxLength: 253 },
          },
        },
        quota: {
          type: 'object', additionalProperties: false, required: ['hard'],
          properties: { hard: { type: 'object', minProperties: 1, additionalProperties: quantity } },
        },
      },
    },
  },
} as const;

const action = { enum: ['Deny', 'Warn', 'Audit'] };

export const policySchema = {
  type: 'object', required: ['apiVersion', 'kind', 'metadata', 'spec'], additionalProperties: false,
  properties: {
    ...header('Policy'),
    spec: {
      type: 'object', additionalProperties: false, required: ['action', 'rules'],
      properties: {
        description: { type: 'string' },
        action,
        failureMode: { enum: ['Deny', 'Allow'] },
        match: {
          type: 'object', additionalProperties: false,
          properties: {
            roles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ROLES } },
            // Roles for which a failing Deny rule is a warning (as Pod Security Admission warns on templates).
            warnRoles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ROLES } },
            operations: { type: 'array', minItems: 1, items: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] } },
          },
        },
        settings: { type: 'object' },
        variables: {
          type: 'array',
          items: {
            type: 'object', additionalProperties: false, required: ['name', 'expression'],
            properties: { name: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }, expression: cel },
          },
        },
        rules: {
          type: 'array', minItems: 1,
          items: {
            type: 'object', additionalProperties: false, required: ['name'],
            allOf: [
              { oneOf: [{ required: ['expression'] }, { required: ['violations'] }] },
              { oneOf: [{ required: ['message'] }, { required: ['messageExpression'] }] },
            ],
            properties: {
              name,
              description: { type: 'string' },
              action,
              operations: { type: 'array', minItems: 1, items: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] } },
              when: cel,
              skipMessage: { type: 'string' },
              skipMessageExpression: cel,
              expression: cel,
              violations: cel,
              message: { type: 'string', minLength: 1 },
              messageExpression: cel,
              // Where the value the rule judges lives, for review's line and column: dotted paths,
              // [*] for any list item; the first that the object has wins (one list serves every kind).
              fields: { type: 'array', minItems: 1, items: { type: 'string', pattern: FIELD_PATH } },
            },
          },
        },
        mutations: {
          type: 'array',
          items: {
            type: 'object', additionalProperties: false, required: ['name', 'target'],
            oneOf: [{ required: ['add'] }, { required: ['addExpression'] }],
            properties: {
              name,
              description: { type: 'string' },
              target: { enum: ['object', 'podSecurityContext', 'containerSecurityContext', 'redisResources', 'affinity', 'podSpec'] },
              when: cel,
              add: { type: 'object', minProperties: 1 },
              addExpression: cel,
              // A list that is already there gets the items it lacks appended (deep equality), instead of
              // being left as it is: for terms that must sit beside the ones the object has.
              appendToLists: { type: 'boolean' },
            },
          },
        },
      },
    },
  },
} as const;

export const exceptionSpecSchema = {
  type: 'object', additionalProperties: false, required: ['owner', 'reason', 'approved', 'expires', 'policies', 'match'],
  properties: {
    // Who answers for the waiver (a person or team, an address to ask).
    owner: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    reason: { type: 'string', minLength: 1, pattern: '\\S' },
    ticket: { type: 'string', minLength: 1, maxLength: 200 },
    // In effect from `approved` until `expires`; the two at most the library's maxDays apart.
    approved: timestamp,
    expires: timestamp,
    policies: {
      type: 'array', minItems: 1,
      items: {
        type: 'object', additionalProperties: false, required: ['policy'],
        // rules absent: every rule of the policy.
        properties: { policy: name, rules: { type: 'array', minItems: 1, uniqueItems: true, items: name } },
      },
    },
    match: {
      type: 'object', additionalProperties: false, required: ['tenant', 'names'],
      properties: {
        // The namespace's redline.dev/tenant label (which only admins set): never another tenant's objects.
        tenant: labelValue,
        namespaces: { type: 'array', minItems: 1, uniqueItems: true, items: { ...objectName, maxLength: 63 } },
        kinds: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$', maxLength: 63 } },
        names: { type: 'array', minItems: 1, uniqueItems: true, items: objectName },
      },
    },
  },
} as const;

export const policyExceptionSchema = {
  type: 'object', required: ['apiVersion', 'kind', 'metadata', 'spec'], additionalProperties: false,
  properties: { ...header('PolicyException'), spec: exceptionSpecSchema },
} as const;

/** Library-wide settings: at most one document per library. */
export const librarySettingsSchema = {
  type: 'object', required: ['apiVersion', 'kind', 'metadata', 'spec'], additionalProperties: false,
  properties: {
    ...header('LibrarySettings'),
    spec: {
      type: 'object', additionalProperties: false,
      properties: {
        exceptions: {
          type: 'object', additionalProperties: false,
          properties: {
            // The longest an exception may run, from approved to expires (default 90).
            maxDays: { type: 'integer', minimum: 1, maximum: 365 },
            // An exception this close to its expiry is warned about wherever it applies (default 14).
            expiryWarningDays: { type: 'integer', minimum: 0, maximum: 365 },
          },
        },
      },
    },
  },
} as const;

export const policyTestSchema = {
  type: 'object', required: ['apiVersion', 'kind', 'metadata', 'spec'], additionalProperties: false,
  properties: {
    ...header('PolicyTest'),
    spec: {
      type: 'object', additionalProperties: false, required: ['policy', 'cases'],
      properties: {
        policy: name,
        // Test-only exceptions (validated like PolicyException documents), in effect in the cases that name them.
        exceptions: {
          type: 'array', minItems: 1,
          items: {
            type: 'object', additionalProperties: false, required: ['metadata', 'spec'],
            properties: { metadata, spec: { type: 'object' } },
          },
        },
        cases: {
          type: 'array', minItems: 1,
          items: {
            type: 'object', additionalProperties: false, required: ['name', 'object', 'expect'],
            dependencies: { exceptions: ['now'] },
            properties: {
              name: { type: 'string', minLength: 1 },
              plan: name,
              // The namespace's redline.dev/tenant label (default: the object's namespace).
              tenant: labelValue,
              // Exceptions in effect for this case, by name: the file's, else the library's. Needs `now`.
              exceptions: { type: 'array', uniqueItems: true, items: name },
              // The wall clock of this case (exceptions start and expire by it).
              now: timestamp,
              // A test-only plan (validated like a Plan's spec), for plan features the shipped plans do not use.
              planSpec: { type: 'object' },
              operation: { enum: ['CREATE', 'UPDATE', 'DELETE'] },
              mutate: { type: 'boolean' },
              // Merged over the policy's settings for this case (e.g. {level: baseline}).
              settings: { type: 'object' },
              object: { type: 'object', required: ['apiVersion', 'kind'] },
              oldObject: { type: 'object' },
              // What the cluster holds, as `review` reads it from its input files (absent: not known).
              storageClasses: {
                type: 'array',
                items: {
                  type: 'object', additionalProperties: false, required: ['name', 'provisioner'],
                  properties: { name: { type: 'string' }, provisioner: { type: 'string' }, default: { type: 'boolean' } },
                },
              },
              pdbs: {
                type: 'array',
                items: {
                  type: 'object', additionalProperties: false, required: ['name', 'selector'],
                  properties: { name: { type: 'string' }, namespace: { type: 'string' }, selector: { type: 'object' } },
                },
              },
              expect: {
                type: 'array', minItems: 1,
                items: {
                  type: 'object', additionalProperties: false, required: ['rule', 'result'],
                  properties: {
                    rule: name,
                    result: { enum: ['pass', 'fail', 'warn', 'skip', 'error'] },
                    messageContains: { type: 'string' },
                    // The PolicyException that waived the rule (with result: skip).
                    exception: name,
                  },
                },
              },
              expectPatch: {
                type: 'array',
                items: { type: 'object', required: ['path'], properties: { path: { type: 'string' }, value: {} } },
              },
            },
          },
        },
      },
    },
  },
} as const;

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();
// ajv is loaded on first use: a library prepared at build time (prepared.ts) is not validated again.
const require = createRequire(import.meta.url);

export type DocumentKind = 'Plan' | 'Policy' | 'PolicyException' | 'LibrarySettings' | 'PolicyTest';
export const DOCUMENT_KINDS: readonly DocumentKind[] = ['Plan', 'Policy', 'PolicyException', 'LibrarySettings', 'PolicyTest'];
const SCHEMAS: Record<DocumentKind, object> = {
  Plan: planSchema,
  Policy: policySchema,
  PolicyException: policyExceptionSchema,
  LibrarySettings: librarySettingsSchema,
  PolicyTest: policyTestSchema,
};

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?$/;

/** Milliseconds since the epoch of a date (00:00 UTC) or RFC 3339 time; undefined when it is not one (2026-02-30 is not). */
export function parseTimestamp(text: string): number | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) return undefined;
  const ms = m[4] ? Date.parse(text) : day.getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

export function validatorFor(kind: DocumentKind): ValidateFunction {
  if (!ajv) {
    const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
    ajv = new AjvClass({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    ajv.addFormat('quantity', { type: 'string', validate: (s: string) => Quantity.tryParse(s) !== undefined });
    ajv.addFormat('timestamp', { type: 'string', validate: (s: string) => parseTimestamp(s) !== undefined });
  }
  let fn = compiled.get(kind);
  if (!fn) {
    const schema = SCHEMAS[kind];
    fn = ajv.compile(schema as object);
    compiled.set(kind, fn);
  }
  return fn;
}

/**
 * ajv reports a failed `oneOf` as one error per branch plus the oneOf itself; keep only the oneOf,
 * which describeSchemaError turns into one sentence naming the alternatives.
 */
export function relevantErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  return errors.filter((e) => !/\/oneOf\/\d+\//.test(e.schemaPath));
}

/** ajv's instancePath ("/spec/rules/0/name") as segments. */
export function instanceSegments(err: ErrorObject): (string | number)[] {
  const segs: (string | number)[] = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (err.keyword === 'additionalProperties') segs.push(String(err.params['additionalProperty']));
  if (err.keyword === 'required') segs.push(String(err.params['missingProperty']));
  if (err.keyword === 'dependencies') segs.push(String(err.params['property']));
  return segs;
}

export function describeSchemaError(err: ErrorObject): string {
  switch (err.keyword) {
    case 'additionalProperties': return 'unknown field';
    case 'required': return 'required field is missing';
    case 'enum': return `must be one of ${(err.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const': return `must be ${JSON.stringify(err.params['allowedValue'])}`;
    case 'not': {
      const pattern = (err.schema as { pattern?: string }).pattern;
      return pattern === '^system-' ? 'system-* priority classes belong to the cluster\'s own components; name another class' : 'invalid';
    }
    case 'format':
      if (err.params['format'] === 'quantity') return 'must be a Kubernetes quantity such as 256Mi or 500m';
      if (err.params['format'] === 'timestamp') return 'must be a date such as 2027-01-15 (00:00 UTC) or an RFC 3339 time such as 2027-01-15T12:00:00Z';
      return `must be a ${String(err.params['format'])}`;
    case 'pattern':
      if (typeof err.data === 'string' && /[*?[\]]/.test(err.data)) {
        return 'exact names only: globs are not allowed (a tenant names its own objects, so a pattern would waive the rule for any object it names to fit)';
      }
      if (err.schema === '\\S') return 'must not be blank';
      return err.message ?? 'invalid';
    case 'dependencies': return `needs ${String(err.params['missingProperty'])} as well`;
    case 'oneOf': {
      const names = (err.schema as { required: string[] }[]).flatMap((s) => s.required).join(' or ');
      return err.params['passingSchemas'] ? `set only one of ${names}` : `needs ${names}`;
    }
    default: return err.message ?? 'invalid';
  }
}
