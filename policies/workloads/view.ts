// The normalised view of a Redis workload. Policies are written once against this view (plus the
// raw object), so every supported kind is covered by every policy. Adapters also say where their
// kind keeps each field (slots), so declared mutations can add what is absent in the right place.

import type { Json, JsonObject, Mode } from '../engine/types.js';

/** A JSON pointer as segments; numbers index arrays. */
export type Segments = readonly (string | number)[];

export type ContainerKind = 'container' | 'init' | 'ephemeral';

export interface ContainerView {
  name: string;
  kind: ContainerKind;
  image: string;
  /**
   * Runs a Redis server: the kind's main Redis container, or any container whose image or
   * command is a Redis/Valkey server (init containers only when restartable); never in a view
   * that is not Redis.
   */
  redis: boolean;
  securityContext: JsonObject;
  resources: { limits: Record<string, string>; requests: Record<string, string> };
  ports: { containerPort: number; hostPort: number }[];
  args: string[];
  env: Record<string, string>;
  /**
   * The non-root UID the image is made to run as (official redis and valkey images: 999, their
   * entrypoint drops to it when started as root; Bitnami: 1001); 0 when the image runs as root and
   * has no such user Redline knows; -1 when Redline does not know the image.
   */
  imageUser: number;
  /** The image's own USER is a numeric non-root UID: `runAsNonRoot: true` alone starts it. */
  imageRunsAsNonRoot: boolean;
}

/** A pod template as policies see it: always-present fields, so expressions stay simple. */
export interface PodView {
  /** Where this template lives, for messages ("spec.template", "spec.redisLeader"). */
  path: string;
  role: string;
  replicas: number;
  labels: Record<string, string>;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  os: string;
  securityContext: JsonObject;
  annotations: Record<string, string>;
  containers: ContainerView[];
  volumes: JsonObject[];
  /** Affinity as written, or null when the kind has no such field. */
  affinity: JsonObject | null;
  affinitySupported: boolean;
  affinityUnsupportedReason: string;
  topologySpreadConstraints: JsonObject[];
  /** The labels this template's pods carry that a selector may use to find its siblings. */
  selectorLabels: Record<string, string>;
  /** '' when unset. A tenant must not pick its node or a system priority class. */
  nodeName: string;
  priorityClassName: string;
  tolerations: JsonObject[];
  nodeSelector: Record<string, string>;
  /** '' when unset (the namespace's default account). */
  serviceAccountName: string;
  /** '' when unset: the cluster's default runtime handler and scheduler. */
  runtimeClassName: string;
  schedulerName: string;
  /** As written; null when unset or the kind has no such field. */
  automountServiceAccountToken: boolean | null;
  /**
   * Why the security contexts of this template's pods are not in the object ('' when they are):
   * the operator sets them when it creates the pods (the REC's services rigger). Pod Security
   * rules skip such a template by name and judge its Pods at admission instead. Absent: ''.
   */
  securityManaged?: string;
}

/** Where a pod template keeps the fields that mutations may add to. */
export interface PodSlots {
  podSecurityContext: Segments | null;
  affinity: Segments | null;
  containers: ContainerSlot[];
}

export interface ContainerSlot {
  name: string;
  kind: ContainerKind;
  redis: boolean;
  securityContext: Segments | null;
  resources: Segments | null;
  /** Set when the container is not in the object yet and must be added before writing into it. */
  create?: { list: Segments; index: number; value: JsonObject };
}

export interface FlatContainer extends ContainerView {
  template: string;
  os: string;
  podSecurityContext: JsonObject;
}

export interface DisruptionBudgetView {
  selectsRedis: boolean;
  selector: Record<string, string>;
  minAvailable: string;
  maxUnavailable: string;
}

export interface OperatorPdbBlock {
  path: string;
  present: boolean;
  enabled: boolean;
  /** As written, numbers as strings ("0", "0%", "1"); '' when absent. */
  minAvailable: string;
  maxUnavailable: string;
  /** Pods the operator's PDB for this block protects (the role's replicas). */
  pods: number;
  /**
   * The CR has no setting for this budget: the operator writes it as it sees fit (Spotahome:
   * minAvailable 2, or replicas − 1 for two pods or fewer). Absent: false.
   */
  fixed?: boolean;
}

export interface OperatorPdbView {
  supported: boolean;
  /** Each place the CR keeps a pdb block (OT: spec.pdb, or redisLeader/redisFollower.pdb). */
  blocks: OperatorPdbBlock[];
}

/** A Service the object asks its operator to create. */
export interface ServiceTemplateView {
  path: string;
  /** '' when unset (the operator's default, ClusterIP). */
  type: string;
  externalIPs: string[];
}

/** A `namespace` field somewhere under spec, with its dotted path. */
export interface NamespaceRefView { path: string; namespace: string }

/** A Secret the object uses; implied: the operator derives the name (no field names it). */
export interface SecretRefView { path: string; name: string; implied: boolean }

/** A cert-manager issuer reference; kind defaults to Issuer as cert-manager's does. */
export interface IssuerRefView { path: string; group: string; kind: string; name: string }

export interface CertificateView {
  secretName: string;
  isCA: boolean;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  usages: string[];
  /** The names (dnsNames and commonName) that are a single DNS label: a Service's short name. */
  dnsLabels: string[];
}

/** What a Redis Enterprise database sells (REDB spec, REAADB spec.globalConfigurations). */
export interface EnterpriseDatabaseView {
  /** memorySize as written ("100MB", "1GB"); '' when absent. */
  memorySize: string;
  /** memorySize as a Kubernetes quantity, MB/GB read as Mi/Gi (the operator counts in 1024s); '' when absent or unreadable. */
  memory: string;
  /** shardCount (default 1): master shards. */
  shards: number;
  replication: boolean;
  /** memory × 2 with replication (a replica shard per master): RAM the database takes on the cluster; '' when memory is ''. */
  totalMemory: string;
  /** tlsMode as written: enabled | disabled | replica_ssl; '' when unset (disabled). */
  tlsMode: string;
  /** clientAuthenticationCertificates names at least one Secret. */
  clientCertificates: boolean;
  ossCluster: boolean;
  /** databasePort; 0 when unset (the cluster picks one). */
  port: number;
  /** replicaSources[]: type REDB (a database the same operator knows) or SECRET (a URI in a Secret). */
  replicaSources: { type: string; name: string }[];
}

/** Redis Enterprise objects only (REC, REDB, REAADB, RERC); null for every other kind. */
export interface EnterpriseView {
  object: 'cluster' | 'database' | 'active-active' | 'remote-cluster';
  /**
   * The REC: a REC's own name; REDB/REAADB spec.redisEnterpriseCluster.name (the operator looks it up
   * in the object's namespace); RERC spec.recName. '' when unset.
   */
  clusterName: string;
  /** RERC spec.recNamespace (also in namespaceRefs); '' for the others, which name no namespace. */
  clusterNamespace: string;
  /** REC spec.rackAwarenessNodeLabel (needs a ClusterRole that lists nodes); '' otherwise. */
  rackAwarenessNodeLabel: string;
  /**
   * Part of Active-Active: a REC with spec.activeActive, a REDB with spec.activeActive, every REAADB
   * and every RERC (a remote cluster exists only to join Active-Active databases).
   */
  activeActive: boolean;
  /** REAADB spec.participatingClusters (RERC names; namespace on that cluster); REDB its activeActive.participatingClusterName. */
  participatingClusters: { name: string; namespace: string }[];
  /** Hostnames/URLs the object publishes or points at: REC ingress/Active-Active URLs, RERC apiFqdnUrl/dbFqdnSuffix. */
  endpoints: string[];
  /** REDB and REAADB; null for REC and RERC. */
  database: EnterpriseDatabaseView | null;
}

export type WorkloadRole = 'workload' | 'pod' | 'pdb' | 'other-pod' | 'other-workload' | 'certificate';

export interface WorkloadView {
  apiVersion: string;
  kind: string;
  engine: 'kubedb' | 'opstree' | 'kubernetes' | 'cert-manager' | 'redis-enterprise' | 'spotahome';
  /**
   * workload: runs Redis pods; pod: a single Redis pod; pdb: a PodDisruptionBudget of Redis pods;
   * other-pod / other-workload: a Pod / pod-template kind that does not run Redis; certificate: a
   * cert-manager Certificate.
   */
  role: WorkloadRole;
  /** True for Redis workloads, pods and PDBs; false for other-pod, other-workload and certificate. */
  redis: boolean;
  name: string;
  namespace: string;
  mode: Mode | '';
  shards: number;
  podsPerShard: number;
  pods: number;
  version: string;
  /**
   * Per-pod memory/cpu limits: the sum over the pod's Redis-server containers (largest over
   * templates); '' if any of them has no limit or a limit of 0 (which the kubelet treats as none).
   */
  memoryLimit: string;
  cpuLimit: string;
  /** The same for requests. */
  memoryRequest: string;
  cpuRequest: string;
  /** pods × per-pod memory limit, summed over templates; '' if unknown. */
  totalMemoryLimit: string;
  /** "container limits.memory" for every container resource whose limit or request is the quantity 0. */
  zeroResources: string[];
  storage: { size: string; storageClass: string; ephemeral: boolean; known: boolean };
  /** supported false: the kind has no TLS settings at all (RedisFailover); absent: true. */
  tls: { enabled: boolean; detail: string; supported?: boolean };
  podTemplates: PodView[];
  /** Every container of every template, with its template's path, OS and pod securityContext. */
  containers: FlatContainer[];
  /**
   * Managed by an owner: a set with a controller ownerReference (an operator's), or a Pod of a
   * StatefulSet/PetSet. Checks that belong to the owner are skipped, or moved to the Pods.
   */
  controlled: boolean;
  pdb: OperatorPdbView;
  disruptionBudget: DisruptionBudgetView | null;
  /** Services the object declares for its operator to create (not the plain kinds: [] there). */
  services: ServiceTemplateView[];
  /** Every `namespace` field under spec; each must be absent or the object's own namespace. */
  namespaceRefs: NamespaceRefView[];
  /** Every Secret the object uses (pod volumes, env, imagePullSecrets, CR fields, implied names). */
  secretRefs: SecretRefView[];
  issuerRefs: IssuerRefView[];
  /** role certificate only; null otherwise. */
  certificate: CertificateView | null;
  /** Redis Enterprise kinds only; null otherwise. */
  enterprise: EnterpriseView | null;
}

export interface AdapterResult {
  view: WorkloadView;
  slots: PodSlots[];
  /** Object-level mutation root (the CR itself); null when the kind must never be mutated. */
  mutable: boolean;
}

/**
 * `redis: true` means "a supported kind, and here is its view" — also for a non-Redis Pod, pod
 * template or Certificate (view.redis false, role other-pod / other-workload / certificate), which
 * policies review too. `redis: false` only for kinds Redline does not understand and PDBs of
 * other pods.
 */
export type Recognition = { redis: true; result: AdapterResult } | { redis: false; reason: string };

export interface WorkloadAdapter {
  readonly apiVersions: readonly string[];
  readonly kind: string;
  recognise(object: JsonObject): Recognition;
}

// ---- small readers over untyped JSON -------------------------------------------------------

export function obj(value: Json | undefined): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
}

export function list(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: Json | undefined): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return '';
}

export function int(value: Json | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

/** Resource lists are int-or-string: `cpu: 2` is the quantity "2". */
export function quantityMap(value: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const source = obj(value);
  for (const k in source) {
    const v = source[k];
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = String(v);
  }
  return out;
}

export function stringMap(value: Json | undefined, into: Record<string, string> = {}): Record<string, string> {
  const source = obj(value);
  for (const k in source) {
    const v = source[k];
    if (typeof v === 'string') into[k] = v;
  }
  return into;
}

export function at(root: Json, path: Segments): Json | undefined {
  let cur: Json | undefined = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[seg as number] : cur[seg as string];
  }
  return cur;
}
