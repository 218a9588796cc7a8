// JSON Schemas of the built-in kinds review judges (Pod, StatefulSet, Deployment, …,
// PodDisruptionBudget), for the fields the workload adapters read: replicas, resources, ports,
// security contexts, host namespaces, volumes, scheduling, PDB budgets. Types, enums and patterns
// are the Kubernetes API's own (k8s.io/api, as the API server decodes them); fields not listed are
// not checked here, and unknown fields are not errors (the API server prunes or refuses them
// itself). test/unit/review-schemas.test.ts checks these against the full OpenAPI validators of
// kubernetes-models on valid and malformed objects.

type Schema = Record<string, unknown>;

/** Kubernetes' resource.Quantity as a CRD spells it: an integer, a number or a string in quantity form. */
export const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
const quantity: Schema = { anyOf: [{ type: 'number' }, { type: 'string' }], pattern: QUANTITY_PATTERN, 'x-kubernetes-int-or-string': true };
const intOrString: Schema = { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true };
const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const int: Schema = { type: 'integer' };
const strings: Schema = { type: 'array', items: str };
const stringMap: Schema = { type: 'object', additionalProperties: str };
const quantities: Schema = { type: 'object', additionalProperties: quantity };
const object = (properties: Record<string, Schema>, required?: string[]): Schema =>
  ({ type: 'object', properties, ...(required ? { required } : {}) });
const list = (items: Schema): Schema => ({ type: 'array', items });

const metadata = object({ name: str, generateName: str, namespace: str, labels: stringMap, annotations: stringMap });
const labelSelector = object({
  matchLabels: stringMap,
  matchExpressions: list(object({ key: str, operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: strings }, ['key', 'operator'])),
});
const seccompProfile = object({ type: { enum: ['Localhost', 'RuntimeDefault', 'Unconfined'] }, localhostProfile: str }, ['type']);
const appArmorProfile = object({ type: { enum: ['Localhost', 'RuntimeDefault', 'Unconfined'] }, localhostProfile: str }, ['type']);
const seLinuxOptions = object({ user: str, role: str, type: str, level: str });
const windowsOptions = object({ hostProcess: bool, runAsUserName: str, gmsaCredentialSpecName: str, gmsaCredentialSpec: str });
const containerSecurityContext = object({
  privileged: bool, allowPrivilegeEscalation: bool, readOnlyRootFilesystem: bool, runAsNonRoot: bool,
  runAsUser: int, runAsGroup: int, procMount: str,
  capabilities: object({ add: strings, drop: strings }),
  seccompProfile, appArmorProfile, seLinuxOptions, windowsOptions,
});
const podSecurityContext = object({
  runAsNonRoot: bool, runAsUser: int, runAsGroup: int, fsGroup: int, supplementalGroups: list(int),
  sysctls: list(object({ name: str, value: str }, ['name', 'value'])),
  seccompProfile, appArmorProfile, seLinuxOptions, windowsOptions,
});
const container = object({
  name: str, image: str, imagePullPolicy: { enum: ['Always', 'Never', 'IfNotPresent'] }, restartPolicy: str,
  command: strings, args: strings,
  env: list(object({ name: str, value: str, valueFrom: { type: 'object' } }, ['name'])),
  ports: list(object({ containerPort: int, hostPort: int, hostIP: str, name: str, protocol: { enum: ['TCP', 'UDP', 'SCTP'] } }, ['containerPort'])),
  resources: object({ limits: quantities, requests: quantities }),
  securityContext: containerSecurityContext,
  volumeMounts: list(object({ name: str, mountPath: str, readOnly: bool }, ['name', 'mountPath'])),
}, ['name']);
const podSpec = object({
  containers: { ...list(container), minItems: 1 },
  initContainers: list(container),
  ephemeralContainers: list(container),
  hostNetwork: bool, hostPID: bool, hostIPC: bool, hostUsers: bool, shareProcessNamespace: bool,
  securityContext: podSecurityContext,
  volumes: list(object({
    name: str,
    hostPath: object({ path: str, type: str }, ['path']),
    emptyDir: object({ medium: str, sizeLimit: quantity }),
    persistentVolumeClaim: object({ claimName: str, readOnly: bool }, ['claimName']),
    secret: object({ secretName: str }),
  }, ['name'])),
  nodeName: str, nodeSelector: stringMap, priorityClassName: str, priority: int,
  serviceAccountName: str, automountServiceAccountToken: bool, runtimeClassName: str, schedulerName: str,
  tolerations: list(object({
    key: str, operator: { enum: ['Exists', 'Equal'] }, value: str,
    effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] }, tolerationSeconds: int,
  })),
  affinity: { type: 'object' },
  topologySpreadConstraints: list(object({
    maxSkew: int, minDomains: int, topologyKey: str, whenUnsatisfiable: { enum: ['DoNotSchedule', 'ScheduleAnyway'] }, labelSelector,
  }, ['maxSkew', 'topologyKey', 'whenUnsatisfiable'])),
  os: object({ name: str }, ['name']),
}, ['containers']);
const podTemplate = object({ metadata, spec: podSpec });
const claimTemplate = object({
  metadata,
  spec: object({ accessModes: strings, storageClassName: str, resources: object({ limits: quantities, requests: quantities }) }),
});
const jobSpec = object({ parallelism: int, completions: int, template: podTemplate }, ['template']);

const kind = (spec: Schema, required = true): Schema =>
  object({ apiVersion: str, kind: str, metadata, spec }, required ? ['spec'] : undefined);

/** apiVersion/kind → schema of the fields the adapters read. */
export const KUBERNETES_SCHEMAS: Readonly<Record<string, Schema>> = {
  'v1/Pod': kind(podSpec),
  'v1/ReplicationController': kind(object({ replicas: int, minReadySeconds: int, selector: stringMap, template: podTemplate })),
  'apps/v1/StatefulSet': kind(object({
    replicas: int, serviceName: str, selector: labelSelector, template: podTemplate,
    volumeClaimTemplates: list(claimTemplate), podManagementPolicy: { enum: ['OrderedReady', 'Parallel'] },
  }, ['selector', 'template'])),
  'apps/v1/Deployment': kind(object({ replicas: int, selector: labelSelector, template: podTemplate }, ['selector', 'template'])),
  'apps/v1/ReplicaSet': kind(object({ replicas: int, selector: labelSelector, template: podTemplate }, ['selector'])),
  'apps/v1/DaemonSet': kind(object({ selector: labelSelector, template: podTemplate }, ['selector', 'template'])),
  'batch/v1/Job': kind(jobSpec),
  'batch/v1/CronJob': kind(object({ schedule: str, jobTemplate: object({ metadata, spec: jobSpec }) }, ['schedule', 'jobTemplate'])),
  'batch/v1beta1/CronJob': kind(object({ schedule: str, jobTemplate: object({ metadata, spec: jobSpec }) }, ['schedule', 'jobTemplate'])),
  'policy/v1/PodDisruptionBudget': kind(object({ minAvailable: intOrString, maxUnavailable: intOrString, selector: labelSelector })),
  'policy/v1beta1/PodDisruptionBudget': kind(object({ minAvailable: intOrString, maxUnavailable: intOrString, selector: labelSelector })),
};
