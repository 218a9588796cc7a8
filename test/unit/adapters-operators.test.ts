// Adapters of the operators added for issue 16: Redis Enterprise (REC, REDB, REAADB, RERC),
// Spotahome RedisFailover, and OT RedisCluster's node-conf volume. Manifests are the shapes the
// operators' own docs publish, then the attacker's variants; every mutation slot must be a path the
// operator's real CRD schema has (../shared/crds), or the API server would prune what Redline adds.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { readCrdFile } from '../e2e/controlplane/crds.js';
import { describe, expect, it } from 'vitest';
import { defaultLibraryDir, Engine, loadLibrary } from '../../policies/engine/index.js';
import type { Json, JsonObject } from '../../policies/engine/types.js';
import { enterpriseMemory } from '../../policies/workloads/enterprise.js';
import { RECOGNISED_KINDS, recognise, type AdapterResult, type Segments } from '../../policies/workloads/index.js';

const CRDS = process.env['REDLINE_SHARED_CRDS'] || path.join(import.meta.dirname, '..', '..', '..', 'shared', 'crds');

function adapt(object: JsonObject): AdapterResult {
  const r = recognise(object);
  if (!r.redis) throw new Error(`not recognised: ${r.reason}`);
  return r.result;
}

const meta = (name: string): JsonObject => ({ name, namespace: 'tenant-acme' });

// ---- the real CRDs ---------------------------------------------------------------------------

/** An upstream CRD, read by the e2e loader's strict reader (the two files that are not plain YAML repaired explicitly). */
function loadCrd(file: string): JsonObject {
  const full = path.join(CRDS, file);
  if (!existsSync(full)) throw new Error(`the upstream CRD ${full} is missing (shared/crds beside the repository; REDLINE_SHARED_CRDS overrides)`);
  const crd = readCrdFile(full).crds[0];
  if (!crd) throw new Error(`${file} has no CustomResourceDefinition`);
  return crd as JsonObject;
}

const crdCache = new Map<string, JsonObject>();
function schemaOf(file: string, version: string): JsonObject {
  let crd = crdCache.get(file);
  if (!crd) crdCache.set(file, (crd = loadCrd(file)));
  const versions = (crd['spec'] as { versions: { name: string; schema: { openAPIV3Schema: JsonObject } }[] }).versions;
  const v = versions.find((x) => x.name === version);
  if (!v) throw new Error(`${file} does not serve ${version}`);
  return v.schema.openAPIV3Schema;
}

/** Walks the schema along a slot's segments; returns the first segment it has no place for, or ''. */
function missingIn(schema: JsonObject, segments: Segments): string {
  let cur: JsonObject | undefined = schema;
  const walked: string[] = [];
  for (const seg of segments) {
    if (!cur) break;
    if (cur['x-kubernetes-preserve-unknown-fields'] === true && !cur['properties']) return '';
    walked.push(String(seg));
    if (typeof seg === 'number') cur = cur['items'] as JsonObject | undefined;
    else cur = (cur['properties'] as Record<string, JsonObject> | undefined)?.[seg]
      ?? (typeof cur['additionalProperties'] === 'object' ? cur['additionalProperties'] as JsonObject : undefined);
    if (!cur) return walked.join('.');
  }
  return '';
}

/** Every path a mutation may write to: pod securityContext, affinity, container securityContext/resources. */
function slotPaths(result: AdapterResult): Segments[] {
  const out: Segments[] = [];
  for (const pod of result.slots) {
    if (pod.podSecurityContext) out.push(pod.podSecurityContext);
    if (pod.affinity) out.push(pod.affinity);
    for (const c of pod.containers) {
      if (c.securityContext) out.push(c.securityContext);
      if (c.resources) out.push(c.resources);
      if (c.create) out.push(c.create.list);
    }
  }
  return out;
}

function expectSlotsInSchema(object: JsonObject, file: string): number {
  const version = String(object['apiVersion']).split('/')[1]!;
  const schema = schemaOf(file, version);
  const paths = slotPaths(adapt(object));
  for (const p of paths) expect(missingIn(schema, p), `${String(object['kind'])} slot ${p.join('.')} is not in ${file} ${version}`).toBe('');
  return paths.length;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ReturnType<Ajv['compile']>>();
function expectValid(object: JsonObject, file: string): void {
  const version = String(object['apiVersion']).split('/')[1]!;
  const key = `${file}/${version}`;
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(schemaOf(file, version))));
  expect(validate(object), `${String(object['kind'])} fixture against ${file}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
}

describe('the schema walk', () => {
  it('finds what a CRD lacks: the REC has no spec.podSecurityContext nor a securityContext on its node resources', () => {
    const schema = schemaOf('redis-enterprise/rec_crd.yaml', 'v1');
    expect(missingIn(schema, ['spec', 'podSecurityContext'])).toBe('spec.podSecurityContext');
    expect(missingIn(schema, ['spec', 'securityContext', 'runAsNonRoot'])).toBe('spec.securityContext.runAsNonRoot');
    expect(missingIn(schema, ['spec', 'sideContainersSpec', 0, 'securityContext', 'runAsNonRoot'])).toBe('');
    expect(missingIn(schemaOf('spotahome/databases.spotahome.com_redisfailovers.yaml', 'v1'), ['spec', 'sentinel', 'configCopy', 'resources']))
      .toBe('spec.sentinel.configCopy.resources');
  });
});

// ---- Redis Enterprise: RedisEnterpriseCluster -----------------------------------------------------

const RE = 'app.redislabs.com';
const REC_CRD = 'redis-enterprise/rec_crd.yaml';
const REDB_CRD = 'redis-enterprise/redb_crd.yaml';
const REAADB_CRD = 'redis-enterprise/reaadb_crd.yaml';
const RERC_CRD = 'redis-enterprise/rerc_crd.yaml';

/** The REC of the operator's quick start (redis.io docs, "Create a Redis Enterprise cluster"). */
const rec = (spec: JsonObject = {}, version = 'v1'): JsonObject => ({
  apiVersion: `${RE}/${version}`, kind: 'RedisEnterpriseCluster', metadata: meta('rec'),
  spec: {
    nodes: 3,
    persistentSpec: { enabled: true, storageClassName: 'standard', volumeSize: '20Gi' },
    redisEnterpriseNodeResources: { limits: { cpu: '2', memory: '4Gi' }, requests: { cpu: '2', memory: '4Gi' } },
    redisEnterpriseImageSpec: { imagePullPolicy: 'IfNotPresent', repository: 'redislabs/redis', versionTag: '7.4.2-216' },
    ...spec,
  },
});

describe('Redis Enterprise RedisEnterpriseCluster', () => {
  it('is recognised in v1 and v1alpha1', () => {
    const kinds = RECOGNISED_KINDS.filter((k) => k.kind === 'RedisEnterpriseCluster').map((k) => k.apiVersion).sort();
    expect(kinds).toEqual([`${RE}/v1`, `${RE}/v1alpha1`]);
    expect(adapt(rec({}, 'v1alpha1')).view.kind).toBe('RedisEnterpriseCluster');
  });

  it('nodes are the pods: mode Cluster, one shard of `nodes` pods; the node resources per pod', () => {
    const { view, mutable } = adapt(rec());
    expect(mutable).toBe(true);
    expect(view).toMatchObject({
      engine: 'redis-enterprise', role: 'workload', redis: true, mode: 'Cluster', shards: 1, podsPerShard: 3, pods: 3,
      version: '7.4.2', memoryLimit: '4Gi', cpuLimit: '2', memoryRequest: '4Gi', totalMemoryLimit: '12Gi',
      storage: { size: '20Gi', storageClass: 'standard', ephemeral: false, known: true },
    });
    expect(view.enterprise).toMatchObject({ object: 'cluster', clusterName: 'rec', activeActive: false, database: null });
  });

  it('defaults as the operator applies them: 3 nodes of 2 CPU / 4Gi, a volume of 5 × the memory request; flash counts', () => {
    const { view } = adapt({ apiVersion: `${RE}/v1`, kind: 'RedisEnterpriseCluster', metadata: meta('rec'), spec: {} });
    expect(view).toMatchObject({ pods: 3, memoryLimit: '4Gi', cpuLimit: '2', totalMemoryLimit: '12Gi' });
    expect(view.storage).toEqual({ size: '20Gi', storageClass: '', ephemeral: false, known: true });
    const small = adapt(rec({ persistentSpec: { enabled: true }, redisEnterpriseNodeResources: { limits: { cpu: '1', memory: '2Gi' } } })).view;
    expect(small.storage.size).toBe('10Gi');
    expect(adapt(rec({ persistentSpec: { enabled: false } })).view.storage).toMatchObject({ ephemeral: true, known: true });
    const flash = { enabled: true, storageClassName: 'local-nvme', flashDiskSize: '100Gi' };
    expect(adapt(rec({ redisOnFlashSpec: flash })).view.storage.size).toBe('120Gi');
    expect(adapt(rec({ redisOnFlashSpec: { ...flash, enabled: false } })).view.storage.size).toBe('20Gi');
  });

  it('the node pod: labels, the operator anti-affinity, the documented securityContext; the rigger runs no Redis', () => {
    const { view } = adapt(rec());
    const [node, rigger] = view.podTemplates;
    expect(node).toMatchObject({
      path: 'spec', role: 'node', replicas: 3, serviceAccountName: 'rec',
      selectorLabels: { app: 'redis-enterprise', 'redis.io/cluster': 'rec', 'redis.io/role': 'node' },
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }] } },
    });
    expect(node!.containers.map((c) => [c.name, c.redis])).toEqual([['redis-enterprise-node', true], ['bootstrapper', false]]);
    expect(node!.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: false,
    });
    expect(rigger).toMatchObject({ role: 'services-rigger', replicas: 1 });
    expect(rigger!.containers.every((c) => !c.redis)).toBe(true);
  });

  it('allowAutoAdjustment adds SYS_RESOURCE and privilege escalation, as the operator does', () => {
    const sc = adapt(rec({ securityContext: { resourceLimits: { allowAutoAdjustment: true } } })).view.containers[0]!.securityContext;
    expect(sc).toMatchObject({ allowPrivilegeEscalation: true, capabilities: { add: ['SYS_RESOURCE'], drop: ['ALL'] } });
  });

  it('a podAntiAffinity override replaces the operator default as written', () => {
    const weak = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } }] };
    expect(adapt(rec({ podAntiAffinity: weak })).view.podTemplates[0]!.affinity).toEqual({ podAntiAffinity: weak });
  });

  it('attacker: hostPath, host namespaces, tolerate-everything, a system priority class, a pinned node', () => {
    const { view } = adapt(rec({
      volumes: [{ name: 'host', hostPath: { path: '/' } }],
      redisEnterpriseVolumeMounts: [{ name: 'host', mountPath: '/host' }],
      podTolerations: [{ operator: 'Exists' }],
      priorityClassName: 'system-node-critical',
      nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
      redisEnterpriseAdditionalPodSpecAttributes: {
        hostNetwork: true, hostPID: true, nodeName: 'master-0', tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
        volumes: [{ name: 'sock', hostPath: { path: '/var/run/containerd/containerd.sock' } }],
        securityContext: { runAsUser: 0 },
      },
      containerTimezone: { propagateHost: {} },
    }));
    const node = view.podTemplates[0]!;
    expect(node).toMatchObject({
      hostNetwork: true, hostPID: true, nodeName: 'master-0', priorityClassName: 'system-node-critical',
      nodeSelector: { 'node-role.kubernetes.io/control-plane': '' }, securityContext: { runAsUser: 0 },
    });
    expect(node.tolerations).toEqual([{ operator: 'Exists' }, { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(node.volumes.map((v) => Object.keys(v).filter((k) => k !== 'name')[0])).toEqual(['hostPath', 'hostPath', 'hostPath']);
    // The rigger gets the cluster-wide tolerations and priority class too.
    expect(view.podTemplates[1]).toMatchObject({ priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] });
  });

  it('attacker: the rigger\'s own attributes (hostNetwork, hostPath) are seen', () => {
    const rigger = adapt(rec({
      servicesRiggerSpec: { servicesRiggerAdditionalPodSpecAttributes: { hostNetwork: true, volumes: [{ name: 'h', hostPath: { path: '/etc' } }] } },
    })).view.podTemplates[1]!;
    expect(rigger).toMatchObject({ hostNetwork: true, volumes: [{ name: 'h', hostPath: { path: '/etc' } }] });
  });

  it('a sidecar that runs redis-server counts toward the plan; one without limits voids the per-pod figure', () => {
    const { view } = adapt(rec({ sideContainersSpec: [{ name: 'cache', image: 'redis:7.2', resources: { limits: { memory: '1Gi', cpu: '500m' } } }] }));
    expect(view.memoryLimit).toBe('5Gi');
    expect(adapt(rec({ sideContainersSpec: [{ name: 'cache', image: 'redis:7.2' }] })).view.memoryLimit).toBe('');
    expect(adapt(rec({ sideContainersSpec: [{ name: 'log', image: 'busybox' }] })).view.memoryLimit).toBe('4Gi');
  });

  it('services: UI, API, the database Service types, OSS LoadBalancers and ingress', () => {
    expect(adapt(rec()).view.services).toEqual([
      { path: 'spec.uiServiceType', type: '', externalIPs: [] },
      { path: 'spec.servicesRiggerSpec.databaseServiceType', type: 'ClusterIP', externalIPs: [] },
      { path: 'spec.servicesRiggerSpec.databaseServiceType', type: 'ClusterIP', externalIPs: [] },
    ]);
    const open = adapt(rec({
      uiServiceType: 'LoadBalancer', services: { apiService: { type: 'NodePort' } },
      servicesRiggerSpec: { databaseServiceType: 'load_balancer' }, ossClusterSettings: { externalAccessType: 'LoadBalancer' },
      ingressOrRouteSpec: { apiFqdnUrl: 'api.example.com', dbFqdnSuffix: '-db.example.com', method: 'ingress' },
    })).view;
    expect(open.services.map((s) => `${s.path}=${s.type}`)).toEqual([
      'spec.uiServiceType=LoadBalancer', 'spec.services.apiService.type=NodePort', 'spec.servicesRiggerSpec.databaseServiceType=LoadBalancer',
      'spec.ossClusterSettings.externalAccessType=LoadBalancer', 'spec.ingressOrRouteSpec=Ingress',
    ]);
    expect(open.enterprise!.endpoints).toEqual(['api.example.com', '-db.example.com']);
  });

  it('secretRefs: the implied credentials Secret, certificates, license, pull secrets, volumes, env, LDAP, backup', () => {
    const { view } = adapt(rec({
      licenseSecretName: 'license', pullSecrets: [{ name: 'regcred' }],
      certificates: { proxyCertificateSecretName: 'proxy-cert', apiCertificateSecretName: 'redline-tenant-ca' },
      ldap: { protocol: 'LDAPS', servers: [{ host: 'ldap' }], bindCredentialsSecretName: 'ldap-bind', authenticationQuery: {}, authorizationQuery: {} },
      backup: { s3: { caCertificateSecretName: 's3-ca' } },
      volumes: [{ name: 'v', secret: { secretName: 'mounted' } }],
      extraEnvVars: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'x' } } }],
      userDefinedModules: [{ name: 'm', source: { https: { url: 'https://x', credentialsSecret: 'module-creds' } } }],
    }));
    expect(view.secretRefs).toEqual(expect.arrayContaining([
      { path: 'spec.clusterCredentialSecretName', name: 'rec', implied: true },
      { path: 'spec.licenseSecretName', name: 'license', implied: false },
      { path: 'spec.pullSecrets[0].name', name: 'regcred', implied: false },
      { path: 'spec.certificates.proxyCertificateSecretName', name: 'proxy-cert', implied: false },
      { path: 'spec.certificates.apiCertificateSecretName', name: 'redline-tenant-ca', implied: false },
      { path: 'spec.ldap.bindCredentialsSecretName', name: 'ldap-bind', implied: false },
      { path: 'spec.backup.s3.caCertificateSecretName', name: 's3-ca', implied: false },
      { path: 'spec.volumes[0].secret.secretName', name: 'mounted', implied: false },
      { path: 'spec.extraEnvVars[0].valueFrom.secretKeyRef.name', name: 'env-secret', implied: false },
      { path: 'spec.userDefinedModules[0].source.https.credentialsSecret', name: 'module-creds', implied: false },
    ]));
    expect(view.secretRefs).toHaveLength(10);
    expect(adapt(rec({ clusterCredentialSecretName: 'admin' })).view.secretRefs).toEqual([
      { path: 'spec.clusterCredentialSecretName', name: 'admin', implied: false },
    ]);
  });

  it('rack awareness and Active-Active are reported for the plan to judge', () => {
    const e = adapt(rec({ rackAwarenessNodeLabel: 'topology.kubernetes.io/zone', activeActive: { method: 'ingress', apiIngressUrl: 'api.x', dbIngressSuffix: '-db.x' } })).view.enterprise!;
    expect(e).toMatchObject({ rackAwarenessNodeLabel: 'topology.kubernetes.io/zone', activeActive: true, endpoints: ['api.x', '-db.x'] });
  });

  it('namespace fields anywhere under spec are reported', () => {
    const v = adapt(rec({ volumes: [{ name: 'v', ephemeral: { volumeClaimTemplate: { spec: { dataSourceRef: { kind: 'X', name: 'y', namespace: 'tenant-other' } } } } }] })).view;
    expect(v.namespaceRefs).toEqual([{ path: 'spec.volumes[0].ephemeral.volumeClaimTemplate.spec.dataSourceRef.namespace', namespace: 'tenant-other' }]);
  });

  it('mutation slots: pod securityContext in the additional pod attributes; never the RS container\'s securityContext, resources or affinity', () => {
    const { slots } = adapt(rec({ sideContainersSpec: [{ name: 's', image: 'busybox' }], redisEnterpriseAdditionalPodSpecAttributes: { initContainers: [{ name: 'i', image: 'busybox' }] } }));
    expect(slots[0]).toMatchObject({ podSecurityContext: ['spec', 'redisEnterpriseAdditionalPodSpecAttributes', 'securityContext'], affinity: null });
    expect(slots[0]!.containers.map((c) => [c.name, c.securityContext?.join('.') ?? null, c.resources?.join('.') ?? null])).toEqual([
      ['redis-enterprise-node', null, null],
      ['bootstrapper', null, 'spec.bootstrapperResources'],
      ['s', 'spec.sideContainersSpec.0.securityContext', 'spec.sideContainersSpec.0.resources'],
      ['i', 'spec.redisEnterpriseAdditionalPodSpecAttributes.initContainers.0.securityContext', 'spec.redisEnterpriseAdditionalPodSpecAttributes.initContainers.0.resources'],
    ]);
    expect(slots[1]).toMatchObject({ podSecurityContext: null, affinity: null });
  });

  it('every mutation slot is in the real CRD schema, v1 and v1alpha1; the fixtures validate against it', () => {
    const full = {
      sideContainersSpec: [{ name: 's', image: 'busybox' }],
      redisEnterpriseAdditionalPodSpecAttributes: { initContainers: [{ name: 'i', image: 'busybox' }] },
      servicesRiggerSpec: { servicesRiggerAdditionalPodSpecAttributes: { initContainers: [{ name: 'ri', image: 'busybox' }] } },
    };
    for (const version of ['v1', 'v1alpha1']) {
      expect(expectSlotsInSchema(rec(full, version), REC_CRD)).toBe(9);
      expectValid(rec(full, version), REC_CRD);
    }
  });
});

// ---- Redis Enterprise: databases and remote clusters -------------------------------------------

/** The REDB of the docs ("Create a database"), with TLS and client certificates. */
const redb = (spec: JsonObject = {}): JsonObject => ({
  apiVersion: `${RE}/v1alpha1`, kind: 'RedisEnterpriseDatabase', metadata: meta('smalldb'),
  spec: { memorySize: '100MB', redisEnterpriseCluster: { name: 'rec' }, ...spec },
});

describe('Redis Enterprise RedisEnterpriseDatabase', () => {
  it('runs no pods of its own; what the plan sells is in enterprise.database', () => {
    const { view, slots, mutable } = adapt(redb({ shardCount: 2, replication: true, tlsMode: 'enabled', clientAuthenticationCertificates: ['client-cert'] }));
    expect(mutable).toBe(false);
    expect(slots).toEqual([]);
    expect(view).toMatchObject({
      engine: 'redis-enterprise', role: 'workload', redis: true, pods: 0, podTemplates: [], mode: 'Cluster', shards: 2, podsPerShard: 2,
      memoryLimit: '', totalMemoryLimit: '', storage: { known: false }, tls: { enabled: true },
    });
    expect(view.enterprise).toEqual({
      object: 'database', clusterName: 'rec', clusterNamespace: '', rackAwarenessNodeLabel: '', activeActive: false,
      participatingClusters: [], endpoints: [],
      database: {
        memorySize: '100MB', memory: '100Mi', shards: 2, replication: true, totalMemory: '200Mi', tlsMode: 'enabled',
        clientCertificates: true, ossCluster: false, port: 0, replicaSources: [],
      },
    });
  });

  it('mode: Standalone by default, Replicated with replication, Cluster with more than one shard', () => {
    expect(adapt(redb()).view).toMatchObject({ mode: 'Standalone', shards: 1, podsPerShard: 1, tls: { enabled: false } });
    expect(adapt(redb({ replication: true })).view).toMatchObject({ mode: 'Replicated', shards: 1, podsPerShard: 2 });
  });

  it('memory sizes read in 1024s, never under-counted; unreadable sizes are ""', () => {
    expect(['100MB', '0.5GB', '1GB', '2G', '512M', '1TB', 'lots', ''].map(enterpriseMemory))
      .toEqual(['100Mi', '0.5Gi', '1Gi', '2Gi', '512Mi', '1Ti', '', '']);
  });

  it('secretRefs: the implied redb-<name>, a named one, client certificates, backup and replica-source Secrets', () => {
    expect(adapt(redb()).view.secretRefs).toEqual([{ path: 'spec.databaseSecretName', name: 'redb-smalldb', implied: true }]);
    const { view } = adapt(redb({
      databaseSecretName: 'redline-tenant-ca', clientAuthenticationCertificates: ['client-cert'],
      backup: { s3: { awsSecretName: 'aws', bucketName: 'b' } },
      replicaSources: [{ replicaSourceType: 'SECRET', replicaSourceName: 'source-uri', clientKeySecret: 'client-key' }, { replicaSourceType: 'REDB', replicaSourceName: 'otherdb' }],
    }));
    expect(view.secretRefs).toEqual([
      { path: 'spec.databaseSecretName', name: 'redline-tenant-ca', implied: false },
      { path: 'spec.clientAuthenticationCertificates[0]', name: 'client-cert', implied: false },
      { path: 'spec.backup.s3.awsSecretName', name: 'aws', implied: false },
      { path: 'spec.replicaSources[0].replicaSourceName', name: 'source-uri', implied: false },
      { path: 'spec.replicaSources[0].clientKeySecret', name: 'client-key', implied: false },
    ]);
    expect(view.enterprise!.database!.replicaSources).toEqual([{ type: 'SECRET', name: 'source-uri' }, { type: 'REDB', name: 'otherdb' }]);
  });

  it('attacker: a REDB naming another tenant\'s REC is visible as clusterName (no namespace field exists)', () => {
    const v = adapt(redb({ redisEnterpriseCluster: { name: 'rec-of-tenant-b' } })).view;
    expect(v.enterprise!.clusterName).toBe('rec-of-tenant-b');
    expect(v.namespaceRefs).toEqual([]);
  });

  it('a REDB joined to an Active-Active database says so', () => {
    const e = adapt(redb({ activeActive: { name: 'aadb', participatingClusterName: 'rerc-a' } })).view.enterprise!;
    expect(e).toMatchObject({ activeActive: true, participatingClusters: [{ name: 'rerc-a', namespace: '' }] });
  });

  it('the fixtures validate against the real CRD; a REDB has no mutation slots', () => {
    expectValid(redb({ shardCount: 2, replication: true, tlsMode: 'enabled', clientAuthenticationCertificates: ['c'] }), REDB_CRD);
    expect(expectSlotsInSchema(redb(), REDB_CRD)).toBe(0);
  });
});

/** The REAADB and RERCs of the docs' Active-Active walkthrough. */
const reaadb = (spec: JsonObject = {}): JsonObject => ({
  apiVersion: `${RE}/v1alpha1`, kind: 'RedisEnterpriseActiveActiveDatabase', metadata: meta('reaadb-boeing'),
  spec: {
    globalConfigurations: { databaseSecretName: 'aadb-secret', memorySize: '200MB', shardCount: 3 },
    participatingClusters: [{ name: 'rerc-ohare' }, { name: 'rerc-reagan' }],
    ...spec,
  },
});
const rerc = (spec: JsonObject = {}): JsonObject => ({
  apiVersion: `${RE}/v1alpha1`, kind: 'RedisEnterpriseRemoteCluster', metadata: meta('rerc-ohare'),
  spec: {
    recName: 'rec-chicago', recNamespace: 'ns-illinois',
    apiFqdnUrl: 'test-example-api-rec-chicago-ns-illinois.example.com',
    dbFqdnSuffix: '-example-cluster-rec-chicago-ns-illinois.example.com',
    secretName: 'redis-enterprise-rerc-ohare',
    ...spec,
  },
});

describe('Redis Enterprise Active-Active: RedisEnterpriseActiveActiveDatabase and RedisEnterpriseRemoteCluster', () => {
  it('a REAADB is Active-Active, its database from globalConfigurations, its participants listed', () => {
    const { view, mutable } = adapt(reaadb());
    expect(mutable).toBe(false);
    expect(view).toMatchObject({ role: 'workload', pods: 0, mode: 'Cluster', shards: 3 });
    expect(view.enterprise).toMatchObject({
      object: 'active-active', activeActive: true,
      participatingClusters: [{ name: 'rerc-ohare', namespace: '' }, { name: 'rerc-reagan', namespace: '' }],
      database: { memory: '200Mi', shards: 3, replication: false },
    });
    expect(view.secretRefs).toEqual([{ path: 'spec.globalConfigurations.databaseSecretName', name: 'aadb-secret', implied: false }]);
  });

  it('attacker: a participating cluster in another namespace is a namespaceRef', () => {
    const v = adapt(reaadb({ participatingClusters: [{ name: 'rerc-ohare', namespace: 'tenant-other' }] })).view;
    expect(v.namespaceRefs).toEqual([{ path: 'spec.participatingClusters[0].namespace', namespace: 'tenant-other' }]);
  });

  it('a RERC points at a cluster: recNamespace is a namespaceRef; its Secret named or implied', () => {
    const { view } = adapt(rerc());
    expect(view).toMatchObject({ role: 'workload', pods: 0, mode: '' });
    expect(view.enterprise).toMatchObject({
      object: 'remote-cluster', clusterName: 'rec-chicago', clusterNamespace: 'ns-illinois', activeActive: true,
      endpoints: ['test-example-api-rec-chicago-ns-illinois.example.com', '-example-cluster-rec-chicago-ns-illinois.example.com'],
    });
    expect(view.namespaceRefs).toEqual([{ path: 'spec.recNamespace', namespace: 'ns-illinois' }]);
    expect(view.secretRefs).toEqual([{ path: 'spec.secretName', name: 'redis-enterprise-rerc-ohare', implied: false }]);
    const { secretName: _, ...noSecret } = rerc()['spec'] as JsonObject;
    expect(adapt(rerc({ ...noSecret, secretName: undefined as unknown as Json })).view.secretRefs)
      .toEqual([{ path: 'spec.secretName', name: 'redis-enterprise-rerc-ohare', implied: true }]);
  });

  it('the fixtures validate against the real CRDs; neither kind has mutation slots', () => {
    expectValid(reaadb(), REAADB_CRD);
    expectValid(rerc(), RERC_CRD);
    expect(expectSlotsInSchema(reaadb(), REAADB_CRD) + expectSlotsInSchema(rerc(), RERC_CRD)).toBe(0);
  });
});

// ---- Spotahome RedisFailover ------------------------------------------------------------------

const SPOTAHOME_CRD = 'spotahome/databases.spotahome.com_redisfailovers.yaml';

/** example/redisfailover/persistent-storage.yaml + auth, from the operator's repository. */
const failover = (redis: JsonObject = {}, sentinel: JsonObject = {}, extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: meta('redisfailover'),
  spec: {
    sentinel: { replicas: 3, resources: { requests: { cpu: '100m' }, limits: { memory: '100Mi' } }, ...sentinel },
    redis: {
      replicas: 3,
      resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '400m', memory: '500Mi' } },
      storage: {
        persistentVolumeClaim: {
          metadata: { name: 'redisfailover-persistent-data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      },
      ...redis,
    },
    auth: { secretPath: 'redis-auth' },
    ...extra,
  },
});

describe('Spotahome RedisFailover', () => {
  it('mode Replicated: one shard of spec.redis.replicas pods; sentinels are a second template', () => {
    const { view, mutable } = adapt(failover());
    expect(mutable).toBe(true);
    expect(view).toMatchObject({
      engine: 'spotahome', role: 'workload', redis: true, mode: 'Replicated', shards: 1, podsPerShard: 3, pods: 3, version: '6.2.6',
      storage: { size: '1Gi', storageClass: '', ephemeral: false, known: true },
      tls: { enabled: false },
    });
    expect(view.podTemplates.map((p) => [p.path, p.role, p.replicas])).toEqual([['spec.redis', 'redis', 3], ['spec.sentinel', 'sentinel', 3]]);
  });

  it('defaults: 3 + 3 replicas, emptyDir data, the operator\'s pod and container security contexts, soft anti-affinity', () => {
    const { view } = adapt({ apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: meta('rf'), spec: {} });
    expect(view).toMatchObject({ pods: 3, storage: { ephemeral: true, known: true } });
    const redis = view.podTemplates[0]!;
    expect(redis.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 1000 });
    expect(redis.containers[0]!.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(redis.affinity).toMatchObject({ podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100 }] } });
    expect(redis.selectorLabels).toEqual({ 'app.kubernetes.io/component': 'redis', 'app.kubernetes.io/name': 'rf', 'app.kubernetes.io/part-of': 'redis-failover' });
    expect(redis.volumes).toContainEqual({ name: 'redis-data', emptyDir: {} });
  });

  it('sentinels run redis-server --sentinel and count as Redis servers; per-pod figures take the largest template', () => {
    const { view } = adapt(failover());
    const sentinel = view.podTemplates[1]!;
    expect(sentinel.containers.map((c) => [c.name, c.kind, c.redis])).toEqual([['sentinel', 'container', true], ['sentinel-config-copy', 'init', false]]);
    expect(sentinel.containers[0]!.args).toEqual(['redis-server', '/redis/sentinel.conf', '--sentinel']);
    expect(view).toMatchObject({ memoryLimit: '500Mi', cpuLimit: '', totalMemoryLimit: '1800Mi' });
  });

  it('auth: spec.auth.secretPath is the Secret (and the REDIS_PASSWORD env); pull secrets, extra volumes and containers', () => {
    const { view } = adapt(failover(
      { imagePullSecrets: [{ name: 'regcred' }], extraVolumes: [{ name: 'x', secret: { secretName: 'extra' } }], extraContainers: [{ name: 'c', image: 'busybox', envFrom: [{ secretRef: { name: 'c-env' } }] }] },
      { exporter: { enabled: true, image: 'oliver006/redis_exporter', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'exp', key: 'p' } } }] } },
    ));
    expect(view.secretRefs).toEqual([
      { path: 'spec.auth.secretPath', name: 'redis-auth', implied: false },
      { path: 'spec.redis.extraContainers[0].envFrom[0].secretRef.name', name: 'c-env', implied: false },
      { path: 'spec.redis.extraVolumes[0].secret.secretName', name: 'extra', implied: false },
      { path: 'spec.redis.imagePullSecrets[0].name', name: 'regcred', implied: false },
      { path: 'spec.sentinel.exporter.env[0].valueFrom.secretKeyRef.name', name: 'exp', implied: false },
    ]);
    expect(view.podTemplates[0]!.containers[0]!.env).toEqual({ REDIS_PASSWORD: '' });
  });

  it('attacker: hostPath, hostNetwork, root, tolerate-everything, a system priority class on either template', () => {
    const { view } = adapt(failover(
      { hostNetwork: true, securityContext: { runAsUser: 0 }, extraVolumes: [{ name: 'root', hostPath: { path: '/' } }], tolerations: [{ operator: 'Exists' }], priorityClassName: 'system-cluster-critical' },
      { containerSecurityContext: { privileged: true }, nodeSelector: { 'kubernetes.io/hostname': 'master-0' }, serviceAccountName: 'default' },
    ));
    const [redis, sentinel] = view.podTemplates;
    expect(redis).toMatchObject({ hostNetwork: true, securityContext: { runAsUser: 0 }, tolerations: [{ operator: 'Exists' }], priorityClassName: 'system-cluster-critical' });
    expect(redis!.volumes).toContainEqual({ name: 'root', hostPath: { path: '/' } });
    expect(sentinel!.containers[0]!.securityContext).toEqual({ privileged: true });
    expect(sentinel).toMatchObject({ nodeSelector: { 'kubernetes.io/hostname': 'master-0' }, serviceAccountName: 'default' });
  });

  it('storage: a PVC as written; emptyDir is ephemeral', () => {
    expect(adapt(failover({ storage: { emptyDir: { medium: 'Memory' } } })).view.storage).toEqual({ size: '', storageClass: '', ephemeral: true, known: true });
    const fast = failover({ storage: { persistentVolumeClaim: { metadata: { name: 'd' }, spec: { storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } } } } });
    expect(adapt(fast).view.storage).toEqual({ size: '5Gi', storageClass: 'fast', ephemeral: false, known: true });
  });

  it('mutation slots are the CR\'s own fields for both templates', () => {
    const { slots } = adapt(failover({ exporter: { enabled: true, image: 'e' }, initContainers: [{ name: 'i', image: 'busybox' }], extraContainers: [{ name: 'x', image: 'busybox' }] }));
    expect(slots.map((s) => [s.podSecurityContext?.join('.'), s.affinity?.join('.')])).toEqual([
      ['spec.redis.securityContext', 'spec.redis.affinity'], ['spec.sentinel.securityContext', 'spec.sentinel.affinity'],
    ]);
    expect(slots[0]!.containers.map((c) => c.securityContext!.join('.'))).toEqual([
      'spec.redis.containerSecurityContext', 'spec.redis.exporter.containerSecurityContext',
      'spec.redis.extraContainers.0.securityContext', 'spec.redis.initContainers.0.securityContext',
    ]);
    expect(slots[1]!.containers.map((c) => [c.name, c.securityContext!.join('.'), c.resources?.join('.') ?? null])).toEqual([
      ['sentinel', 'spec.sentinel.containerSecurityContext', 'spec.sentinel.resources'],
      ['sentinel-config-copy', 'spec.sentinel.configCopy.containerSecurityContext', null],
    ]);
  });

  it('every mutation slot is in the real CRD schema; the fixtures validate against it', () => {
    const full = failover(
      { exporter: { enabled: true, image: 'e' }, initContainers: [{ name: 'i', image: 'busybox' }], extraContainers: [{ name: 'x', image: 'busybox' }] },
      { exporter: { enabled: true, image: 'e' }, initContainers: [{ name: 'i', image: 'busybox' }], extraContainers: [{ name: 'x', image: 'busybox' }] },
    );
    expect(expectSlotsInSchema(full, SPOTAHOME_CRD)).toBe(21);
    expectValid(full, SPOTAHOME_CRD);
  });
});

// ---- OT-Container-Kit RedisCluster node-conf volume ------------------------------------------------

describe('OT RedisCluster node-conf volume', () => {
  const cluster = (storage: JsonObject): JsonObject => ({
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisCluster', metadata: meta('cluster'),
    spec: { clusterSize: 3, kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15' }, storage },
  });
  const claim = (size: string, storageClassName?: string): JsonObject =>
    ({ spec: { accessModes: ['ReadWriteOnce'], ...(storageClassName ? { storageClassName } : {}), resources: { requests: { storage: size } } } });

  it('storage per pod is data + node-conf when nodeConfVolume is on', () => {
    const v = adapt(cluster({ volumeClaimTemplate: claim('1Gi', 'ssd'), nodeConfVolume: true, nodeConfVolumeClaimTemplate: claim('1Gi') })).view;
    expect(v.storage).toEqual({ size: '2Gi', storageClass: 'ssd', ephemeral: false, known: true });
    expect(adapt(cluster({ volumeClaimTemplate: claim('10Gi'), nodeConfVolume: true, nodeConfVolumeClaimTemplate: claim('512Mi') })).view.storage.size).toBe('10752Mi');
  });

  it('without nodeConfVolume the node-conf template does not count; on without a size, the size is unknown', () => {
    expect(adapt(cluster({ volumeClaimTemplate: claim('1Gi'), nodeConfVolumeClaimTemplate: claim('1Gi') })).view.storage.size).toBe('1Gi');
    expect(adapt(cluster({ volumeClaimTemplate: claim('1Gi'), nodeConfVolume: true })).view.storage.size).toBe('');
  });

  it('the fixture validates against the real CRD', () => {
    expectValid(cluster({ volumeClaimTemplate: claim('1Gi'), nodeConfVolume: true, nodeConfVolumeClaimTemplate: claim('1Gi') }),
      'opstree/redis.redis.opstreelabs.in_redisclusters.yaml');
  });
});

// ---- Ownership ------------------------------------------------------------------------------------

describe('sets and PDBs the new operators write are Redis by their owner', () => {
  const owned = (apiVersion: string, kind: string): JsonObject => ({
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { ...meta('pdb'), ownerReferences: [{ apiVersion, kind, name: 'x', uid: 'u', controller: true }] },
    spec: { minAvailable: 2, selector: { matchLabels: { 'app.kubernetes.io/part-of': 'redis-failover' } } },
  });

  it('a PDB owned by a RedisFailover or a RedisEnterpriseCluster is a Redis PDB; a REDB or another group\'s kind is not an owner', () => {
    expect(adapt(owned('databases.spotahome.com/v1', 'RedisFailover')).view.role).toBe('pdb');
    expect(adapt(owned(`${RE}/v1`, 'RedisEnterpriseCluster')).view.role).toBe('pdb');
    expect(recognise(owned(`${RE}/v1alpha1`, 'RedisEnterpriseDatabase')).redis).toBe(false);
    expect(recognise(owned('kubedb.com/v1', 'RedisFailover')).redis).toBe(false);
  });
});

// ---- Hostile input ---------------------------------------------------------------------------------

describe('hostile input never throws', () => {
  const shapes: Json[] = [null, 1, 'x', [], [null], { a: null }, true];
  const kinds: [string, string][] = [
    [`${RE}/v1`, 'RedisEnterpriseCluster'], [`${RE}/v1alpha1`, 'RedisEnterpriseDatabase'],
    [`${RE}/v1alpha1`, 'RedisEnterpriseActiveActiveDatabase'], [`${RE}/v1alpha1`, 'RedisEnterpriseRemoteCluster'],
    ['databases.spotahome.com/v1', 'RedisFailover'],
  ];
  const fields = [
    'nodes', 'persistentSpec', 'redisEnterpriseNodeResources', 'redisEnterpriseAdditionalPodSpecAttributes', 'sideContainersSpec',
    'volumes', 'podTolerations', 'servicesRiggerSpec', 'certificates', 'memorySize', 'shardCount', 'replicaSources',
    'clientAuthenticationCertificates', 'participatingClusters', 'globalConfigurations', 'redis', 'sentinel', 'auth', 'securityContext',
  ];

  it('every field of every new kind as null, a number, a string, an array, an object', () => {
    for (const [apiVersion, kind] of kinds) {
      for (const field of fields) {
        for (const value of shapes) {
          for (const spec of [{ [field]: value }, { redis: { [field]: value }, sentinel: { [field]: value } }]) {
            expect(() => recognise({ apiVersion, kind, metadata: meta('x'), spec } as JsonObject), `${kind} ${field}=${JSON.stringify(value)}`).not.toThrow();
          }
        }
      }
      expect(() => recognise({ apiVersion, kind } as JsonObject)).not.toThrow();
    }
  });
});

// ---- What Redline writes still validates -------------------------------------------------------------

describe('mutated objects of every new kind validate against the operator\'s real CRD', () => {
  it('each shipped plan\'s mutations of each kind validate, and mutating the result again adds nothing', async () => {
    const engine = new Engine(await loadLibrary(defaultLibraryDir()));
    const cases: [JsonObject, string][] = [
      [rec(), REC_CRD], [rec({}, 'v1alpha1'), REC_CRD],
      [{ apiVersion: `${RE}/v1`, kind: 'RedisEnterpriseCluster', metadata: meta('bare'), spec: { sideContainersSpec: [{ name: 's', image: 'busybox' }] } }, REC_CRD],
      [redb(), REDB_CRD], [reaadb(), REAADB_CRD], [rerc(), RERC_CRD],
      [failover(), SPOTAHOME_CRD],
      [{ apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: meta('bare'), spec: {} }, SPOTAHOME_CRD],
    ];
    let patched = 0;
    for (const plan of engine.library.plans.keys()) {
      for (const [object, crd] of cases) {
        const namespace = { name: 'tenant-acme', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': plan } };
        const once = engine.review({ object, operation: 'CREATE', namespace, plan, mutate: true, validate: false });
        expectValid(once.mutated, crd);
        if (once.patch.length > 0) patched++;
        const twice = engine.review({ object: once.mutated, operation: 'CREATE', namespace, plan, mutate: true, validate: false });
        expect(twice.patch, `${String(object['kind'])} on ${plan}: mutating twice`).toEqual([]);
      }
    }
    expect(patched, 'some mutation applied (the check is not vacuous)').toBeGreaterThan(0);
  });
});
