// The objects of the operators e2e suite: Redis Enterprise (REC, REDB, REAADB, RERC), a Spotahome
// RedisFailover and a ReplicationController running Redis, each as its project's docs publish it
// (the legitimate shape), plus the API paths of their kinds.
import { path } from './isolation-http.js';

export const RE = 'app.redislabs.com';

export const OP = {
  rec: (ns: string, name?: string, version = 'v1'): string => path(`${RE}/${version}`, 'redisenterpriseclusters', ns, name),
  redb: (ns: string, name?: string): string => path(`${RE}/v1alpha1`, 'redisenterprisedatabases', ns, name),
  reaadb: (ns: string, name?: string): string => path(`${RE}/v1alpha1`, 'redisenterpriseactiveactivedatabases', ns, name),
  rerc: (ns: string, name?: string): string => path(`${RE}/v1alpha1`, 'redisenterpriseremoteclusters', ns, name),
  failover: (ns: string, name?: string): string => path('databases.spotahome.com/v1', 'redisfailovers', ns, name),
  rc: (ns: string, name?: string): string => path('v1', 'replicationcontrollers', ns, name),
  deployments: (ns: string, name?: string): string => path('apps/v1', 'deployments', ns, name),
  serviceAccounts: (ns: string, name?: string): string => path('v1', 'serviceaccounts', ns, name),
  roles: (ns: string, name?: string): string => path('rbac.authorization.k8s.io/v1', 'roles', ns, name),
  networkPolicies: (ns: string, name?: string): string => path('networking.k8s.io/v1', 'networkpolicies', ns, name),
};

type Obj = Record<string, any>;

/** The docs' minimal REC (3 nodes), with explicit node resources and persistence. */
export function rec(name: string, extra: Obj = {}, version = 'v1'): Obj {
  return {
    apiVersion: `${RE}/${version}`,
    kind: 'RedisEnterpriseCluster',
    metadata: { name },
    spec: {
      nodes: 3,
      redisEnterpriseNodeResources: { limits: { cpu: '2', memory: '4Gi' }, requests: { cpu: '2', memory: '4Gi' } },
      persistentSpec: { enabled: true, volumeSize: '20Gi' },
      ...extra,
    },
  };
}

export function redb(name: string, extra: Obj = {}): Obj {
  return {
    apiVersion: `${RE}/v1alpha1`,
    kind: 'RedisEnterpriseDatabase',
    metadata: { name },
    spec: { redisEnterpriseCluster: { name: 'rec' }, memorySize: '1GB', shardCount: 1, replication: true, tlsMode: 'enabled', ...extra },
  };
}

export function reaadb(name: string, extra: Obj = {}): Obj {
  return {
    apiVersion: `${RE}/v1alpha1`,
    kind: 'RedisEnterpriseActiveActiveDatabase',
    metadata: { name },
    spec: {
      participatingClusters: [{ name: 'rerc-a' }, { name: 'rerc-b' }],
      globalConfigurations: { memorySize: '1GB', shardCount: 1, replication: true, persistence: 'aofEverySecond', tlsMode: 'enabled' },
      ...extra,
    },
  };
}

export function rerc(name: string, ns: string, extra: Obj = {}): Obj {
  return {
    apiVersion: `${RE}/v1alpha1`,
    kind: 'RedisEnterpriseRemoteCluster',
    metadata: { name },
    spec: {
      recName: 'rec',
      recNamespace: ns,
      apiFqdnUrl: `api-rec-${ns}.example.com`,
      dbFqdnSuffix: `-db-rec-${ns}.example.com`,
      secretName: `redis-enterprise-${name}`,
      ...extra,
    },
  };
}

const RESOURCES = { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } };
const SMALL = { limits: { cpu: '100m', memory: '128Mi' }, requests: { cpu: '100m', memory: '128Mi' } };

/** Spotahome's persistent-storage example with auth, sized for the premium plan. */
export function failover(name: string, redisExtra: Obj = {}, sentinelExtra: Obj = {}): Obj {
  return {
    apiVersion: 'databases.spotahome.com/v1',
    kind: 'RedisFailover',
    metadata: { name },
    spec: {
      auth: { secretPath: `${name}-auth` },
      sentinel: { replicas: 3, resources: SMALL, ...sentinelExtra },
      redis: {
        image: 'redis:7.2.4',
        replicas: 3,
        resources: RESOURCES,
        storage: {
          persistentVolumeClaim: {
            metadata: { name: `${name}-data` },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        },
        ...redisExtra,
      },
    },
  };
}

/** The Kubernetes docs' ReplicationController running redis (one standalone pod), with TLS and a password. */
export function replicationController(name: string, podExtra: Obj = {}, containerExtra: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { app: name },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'redis',
            image: 'redis:7.2.4',
            args: [
              '--tls-port', '6379', '--port', '0',
              '--tls-cert-file', '/tls/tls.crt', '--tls-key-file', '/tls/tls.key', '--tls-ca-cert-file', '/tls/ca.crt',
              '--maxmemory', '700mb', '--requirepass', '$(REDIS_PASSWORD)',
            ],
            env: [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: `${name}-auth`, key: 'password' } } }],
            ports: [{ containerPort: 6379 }],
            resources: RESOURCES,
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
            volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'tls', mountPath: '/tls', readOnly: true }],
            ...containerExtra,
          }],
          // the Secret of a Certificate from the namespace's Issuer redline-redis-ca
          volumes: [{ name: 'data', emptyDir: {} }, { name: 'tls', secret: { secretName: `${name}-tls` } }],
          ...podExtra,
        },
      },
    },
  };
}

/** The Redis Enterprise operator as its bundle installs it (platform-owned, in the tenant namespace). */
export function enterpriseOperatorDeployment(): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'redis-enterprise-operator', labels: { app: 'redis-enterprise' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { name: 'redis-enterprise-operator' } },
      template: {
        metadata: { labels: { name: 'redis-enterprise-operator', app: 'redis-enterprise' } },
        spec: {
          serviceAccountName: 'redis-enterprise-operator',
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'redis-enterprise-operator',
            image: 'redislabs/operator:7.4.2-2',
            command: ['operator-root', 'operator'],
            resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '500m', memory: '256Mi' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  };
}
