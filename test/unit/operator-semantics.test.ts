// Fields that the operators read otherwise than they are written: a red-team pass on a real API
// server (test/e2e/attack.e2e.test.ts) found each of these admitted. Here each is held to the
// operator's own reading, next to the value that was always judged right.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../policies/engine/types.js';
import type { Practices } from '../../policies/workloads/practices.js';
import { viewUsage } from '../../policies/tenancy/usage.js';
import { practices, viewOf } from '../helpers/workloads.js';


const NS = 'tenant-acme';
const GI = 1024 ** 3;

const failover = (redis: JsonObject, sentinel: JsonObject = {}): JsonObject => ({
  apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: { name: 'cache', namespace: NS },
  spec: { auth: { secretPath: 'cache-auth' }, redis, sentinel },
});

describe('Spotahome: replicas and port of 0 or below are the operator\'s defaults (RedisFailover.Validate)', () => {
  const memory = { limits: { memory: '4Gi', cpu: '500m' }, requests: { memory: '4Gi', cpu: '500m' } };

  it.each([0, -5])('spec.redis.replicas %d runs 3 Redis pods, and the ledger counts their memory', (replicas) => {
    const v = viewOf(failover({ replicas, resources: memory }));
    expect(v.podTemplates.map((t) => [t.role, t.replicas])).toEqual([['redis', 3], ['sentinel', 3]]);
    expect(v.pods).toBe(3);
    const written3 = viewOf(failover({ replicas: 3, resources: memory }));
    expect(viewUsage(v).memory).toBe(viewUsage(written3).memory);
    expect(viewUsage(v).memory >= BigInt(12 * GI) * 10n ** 9n).toBe(true);
  });

  it('spec.sentinel.replicas -1 runs 3 Sentinels; a written count above 0 is kept', () => {
    expect(viewOf(failover({ replicas: 2 }, { replicas: -1 })).podTemplates.map((t) => t.replicas)).toEqual([2, 3]);
    expect(viewOf(failover({ replicas: 5 }, { replicas: 5 })).podTemplates.map((t) => t.replicas)).toEqual([5, 5]);
  });
});

describe('Spotahome customConfig: a password line with no value empties the password', () => {
  const auth = (lines: string[]): Practices['auth'] => {
    const object = failover({ replicas: 3, customConfig: lines });
    return practices(object).auth;
  };

  it.each(['requirepass ', 'requirepass   ', 'REQUIREPASS \t'])('%j turns authentication off', (line) => {
    expect(auth([line]).disabled).toEqual([expect.stringContaining('"requirepass " sets an empty password')]);
    expect(auth([line]).literal).toEqual([]);
  });

  it('"masterauth " is refused too; a literal password is still a literal; other lines and a bare keyword are not about auth', () => {
    expect(auth(['masterauth ']).disabled).toEqual([expect.stringContaining('empty masterauth')]);
    expect(auth(['requirepass hunter2']).literal).toEqual([expect.stringContaining('"requirepass …" is a literal password')]);
    expect(auth(['requirepass hunter2']).disabled).toEqual([]);
    // The operator refuses a line without a value ("malformed"): nothing reaches the server.
    expect(auth(['requirepass', 'maxmemory-policy allkeys-lru', 'requirepassword x'])).toMatchObject({ disabled: [], literal: [] });
  });
});

describe('KeyDB images run a server by their entrypoint', () => {
  const kubedbWith = (container: JsonObject): JsonObject => ({
    apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'cache', namespace: NS },
    spec: { version: '7.2.4', podTemplate: { spec: { containers: [
      { name: 'redis', resources: { limits: { memory: '1Gi' } } },
      { name: 'cache', resources: { limits: { memory: '3584Mi' } }, ...container },
    ] } } },
  });

  it('a sidecar on eqalpha/keydb with no command counts toward the pod\'s Redis memory, as it does with keydb-server', () => {
    const byImage = viewOf(kubedbWith({ image: 'eqalpha/keydb:x86_64_v6.3.4' }));
    const byCommand = viewOf(kubedbWith({ image: 'ghcr.io/acme/kv:1', command: ['keydb-server'] }));
    const other = viewOf(kubedbWith({ image: 'ghcr.io/acme/kv:1' }));
    expect(byImage.containers.map((c) => [c.name, c.redis])).toEqual([['redis', true], ['cache', true]]);
    expect(viewUsage(byImage).memory).toBe(viewUsage(byCommand).memory);
    expect(viewUsage(byImage).memory > viewUsage(other).memory).toBe(true);
  });
});

describe('OT-Container-Kit spec.env replaces what the operator derives from the CR', () => {
  const ot = (env: JsonObject[]): JsonObject => ({
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'Redis', metadata: { name: 'orders', namespace: NS },
    spec: {
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', redisSecret: { name: 'orders-auth', key: 'password' } },
      TLS: { secret: { secretName: 'orders-tls' } },
      env,
    },
  });
  const auth = (env: JsonObject[]): Practices['auth'] => {
    const object = ot(env);
    return practices(object).auth;
  };

  it('an empty REDIS_PASSWORD turns authentication off; one from a ConfigMap or a field is not a Secret; another Secret is a password', () => {
    expect(auth([]).disabled).toEqual([]);
    expect(auth([{ name: 'REDIS_PASSWORD', value: '' }]).disabled).toEqual([expect.stringContaining('spec.env REDIS_PASSWORD is empty')]);
    expect(auth([{ name: 'REDIS_PASSWORD' }]).disabled).toHaveLength(1);
    expect(auth([{ name: 'REDIS_PASSWORD', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }]).literal)
      .toContain('spec.env REDIS_PASSWORD does not come from a Secret; remove it (the operator takes the password from spec.kubernetesConfig.redisSecret)');
    expect(auth([{ name: 'REDIS_PASSWORD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]).literal).toHaveLength(1);
    expect(auth([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'other', key: 'k' } } }])).toMatchObject({ disabled: [], literal: [] });
  });

  it.each([
    [{ name: 'TLS_MODE', value: 'false' }, 'TLS_MODE'],
    [{ name: 'TLS_MODE', value: '' }, 'TLS_MODE'],
    [{ name: 'TLS_MODE', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }, 'TLS_MODE'],
    [{ name: 'REDIS_TLS_CERT', value: '/data/mine.crt' }, 'REDIS_TLS_CERT'],
    [{ name: 'REDIS_TLS_CA_KEY', value: '/data/ca.crt' }, 'REDIS_TLS_CA_KEY'],
  ])('%j turns TLS off', (entry, name) => {
    expect(viewOf(ot([entry])).tls).toEqual({ enabled: false, detail: `spec.env ${name} replaces what the operator derives from spec.TLS; remove the entry` });
  });

  it('TLS_MODE "true" is what the operator sets; other env leaves TLS on', () => {
    expect(viewOf(ot([{ name: 'TLS_MODE', value: 'true' }, { name: 'APP', value: 'x' }])).tls).toEqual({ enabled: true, detail: 'spec.TLS.secret.secretName orders-tls' });
  });
});

describe('KubeDB v1 spec.configuration names Secrets as configSecret and acl did', () => {
  it('secretName and acl.secretRef are Secret references of the view', () => {
    const v = viewOf({
      apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'cache', namespace: NS },
      spec: { version: '7.2.4', authSecret: { name: 'a' }, configuration: { secretName: 'redline-tenant-ca', acl: { secretRef: { name: 'acl' }, rules: ['app ${k1} +@all'] } } },
    });
    expect(v.secretRefs.map((r) => [r.path, r.name])).toEqual(expect.arrayContaining([
      ['spec.configuration.secretName', 'redline-tenant-ca'],
      ['spec.configuration.acl.secretRef.name', 'acl'],
    ]));
  });
});

describe('persistence a tenant switched off through operator config (a second red-team pass)', () => {
  const otWith = (kind: string, spec: JsonObject): JsonObject => ({
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind, metadata: { name: 'orders', namespace: NS },
    spec: {
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', redisSecret: { name: 'orders-auth', key: 'password' } },
      storage: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
      ...spec,
    },
  });
  const persistence = (object: JsonObject): Practices['persistence'] => practices(object).persistence;

  it.each([
    [{ name: 'DATA_DIR', value: '/tmp' }, 'DATA_DIR'],
    [{ name: 'PERSISTENCE_ENABLED', value: 'false' }, 'PERSISTENCE_ENABLED'],
    [{ name: 'NODE_CONF_DIR', value: '/tmp' }, 'NODE_CONF_DIR'],
  ])('OT spec.env %j keeps the data off the claim', (entry, name) => {
    expect(persistence(otWith('Redis', { env: [entry] }))).toEqual({ applies: true, durable: false, problem: expect.stringContaining(`spec.env ${name} replaces what the operator sets`) });
  });

  it('OT: a claim alone is durable, PERSISTENCE_ENABLED "true" is what the operator sets; EXTERNAL_CONFIG_FILE turns authentication off', () => {
    expect(persistence(otWith('Redis', {})).durable).toBe(true);
    expect(persistence(otWith('Redis', { env: [{ name: 'PERSISTENCE_ENABLED', value: 'true' }] })).durable).toBe(true);
    const external = otWith('Redis', { env: [{ name: 'EXTERNAL_CONFIG_FILE', value: '/etc/extra/redis.conf' }] });
    expect(practices(external).auth.disabled).toEqual([expect.stringContaining('spec.env EXTERNAL_CONFIG_FILE includes a file')]);
  });

  it('an OT RedisCluster keeps its data on the claims only with persistenceEnabled: true (the claims count for storage either way)', () => {
    const cluster = (extra: JsonObject): JsonObject => otWith('RedisCluster', { clusterSize: 3, ...extra });
    expect(persistence(cluster({ persistenceEnabled: true })).durable).toBe(true);
    for (const extra of [{}, { persistenceEnabled: false }] as JsonObject[]) {
      expect(persistence(cluster(extra))).toEqual({ applies: true, durable: false, problem: expect.stringContaining('spec.persistenceEnabled is not true') });
      expect(viewUsage(viewOf(cluster(extra))).storage).toBe(viewUsage(viewOf(cluster({ persistenceEnabled: true }))).storage);
    }
    expect(persistence(otWith('Redis', {})).durable).toBe(true); // the flag is RedisCluster's only
  });

  it.each([
    [['save '], 'turns snapshots off'],
    [['save ""'], 'turns snapshots off'],
    [['appendonly no', 'save '], 'turns snapshots off'],
    [['dir /tmp'], '"dir /tmp" moves the data off the claim'],
    [['dir /data/../tmp'], '"dir /data/../tmp" moves the data off the claim'],
    [['dir data'], '"dir data" moves the data off the claim'],
    [['SAVE \t'], 'turns snapshots off'],
    [['appendonly yes', 'appendonly no', "save ''"], 'turns snapshots off'],
  ])('Spotahome customConfig %j keeps nothing on the claim', (lines, problem) => {
    const object = failover({ replicas: 3, customConfig: lines, storage: { persistentVolumeClaim: { metadata: { name: 'd' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } } });
    expect(persistence(object)).toEqual({ applies: true, durable: false, problem: expect.stringContaining(problem) });
  });

  it('Spotahome: "save " with "appendonly yes", snapshots kept, or dir /data stay durable', () => {
    for (const lines of [['save ', 'appendonly yes'], ['save 900 1'], ['dir /data'], ['dir /data/redis/'], ['save ', 'save 900 1'], ['maxmemory-policy allkeys-lru']]) {
      const object = failover({ replicas: 3, customConfig: lines, storage: { persistentVolumeClaim: { metadata: { name: 'd' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } } });
      expect(persistence(object).durable, lines.join('; ')).toBe(true);
    }
  });
});

describe('Redis Enterprise databases keep data on disk only with a persistence policy (the operator\'s default is disabled)', () => {
  const redb = (spec: JsonObject): JsonObject => ({
    apiVersion: 'app.redislabs.com/v1alpha1', kind: 'RedisEnterpriseDatabase', metadata: { name: 'orders', namespace: NS },
    spec: { redisEnterpriseCluster: { name: 'rec' }, memorySize: '1GB', ...spec },
  });
  const reaadb = (globalConfigurations: JsonObject): JsonObject => ({
    apiVersion: 'app.redislabs.com/v1alpha1', kind: 'RedisEnterpriseActiveActiveDatabase', metadata: { name: 'carts', namespace: NS },
    spec: { participatingClusters: [{ name: 'rerc-a' }, { name: 'rerc-b' }], globalConfigurations: { memorySize: '1GB', ...globalConfigurations } },
  });
  const persistence = (object: JsonObject): Practices['persistence'] => practices(object).persistence;

  it.each([
    [redb({}), 'spec.persistence is not set'],
    [redb({ persistence: 'disabled' }), 'spec.persistence is disabled'],
    [reaadb({}), 'spec.globalConfigurations.persistence is not set'],
    [reaadb({ persistence: 'disabled' }), 'spec.globalConfigurations.persistence is disabled'],
  ])('%#: not durable', (object, problem) => {
    expect(persistence(object)).toEqual({ applies: true, durable: false, problem: expect.stringContaining(problem) });
  });

  it('aofEverySecond or a snapshot policy is durable', () => {
    expect(persistence(redb({ persistence: 'aofEverySecond' }))).toEqual({ applies: true, durable: true, problem: '' });
    expect(persistence(reaadb({ persistence: 'snapshotEvery1Hour' })).durable).toBe(true);
  });
});

describe('KubeDB v1alpha2: the ledger counts what the stored v1 object runs (a third red-team pass)', () => {
  const defaults = { memory: '1Gi', cpu: '500m' };
  const redis = (apiVersion: string, podTemplateSpec: JsonObject): JsonObject => ({
    apiVersion, kind: 'Redis', metadata: { name: 'cache', namespace: NS }, spec: { version: '7.2.4', mode: 'Standalone', podTemplate: { spec: podTemplateSpec } },
  });

  it('a v1alpha2 limit below the plan default counts the default; above it counts as written; v1 counts as written', () => {
    const small = viewUsage(viewOf(redis('kubedb.com/v1alpha2', { resources: { limits: { memory: '64Mi', cpu: '100m' } } })), defaults);
    expect(small.memory).toBe(viewUsage(viewOf(redis('kubedb.com/v1', {})), defaults).memory); // the stored v1 object: the default
    const big = viewUsage(viewOf(redis('kubedb.com/v1alpha2', { resources: { limits: { memory: '3Gi', cpu: '1' } } })), defaults);
    expect(big.memory).toBe(BigInt(3 * GI) * 10n ** 9n);
    const v1 = viewUsage(viewOf(redis('kubedb.com/v1', { containers: [{ name: 'redis', resources: { limits: { memory: '64Mi', cpu: '100m' } } }] })), defaults);
    expect(v1.memory).toBe(BigInt(64 * 1024 ** 2) * 10n ** 9n);
  });
});
