// A fifth red-team pass, as a tenant: KubeDB v1 configuration Redline did not read (the redis
// container's args, spec.configSecret, spec.configuration, spec.init.script), and the plan-limit
// arithmetic of quantities and counts. The args were admitted and the configuration went unreported
// before the fix that came with this file; each test sits beside a control.
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../policies/engine/engine.js';
import { loadLibrary } from '../../policies/engine/library.js';
import type { JsonObject } from '../../policies/engine/types.js';
import { practicesOf } from '../../policies/workloads/practices.js';
import { viewUsage } from '../../policies/tenancy/usage.js';
import { viewOf, practices } from '../helpers/workloads.js';


const NS = 'tenant-acme';
const GI = 1024 ** 3;

const kubedb = (spec: JsonObject = {}, redis: JsonObject = {}): JsonObject => ({
  apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'cache', namespace: NS },
  spec: {
    version: '7.2.4', mode: 'Standalone', replicas: 1, storageType: 'Durable',
    storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '1Gi', cpu: '500m' } }, ...redis }] } },
    ...spec,
  },
});

// KubeDB starts the server as `redis-server /data/default.conf $args`, the redis container's args
// after the config file (kubedb/redis-init-docker scripts/standalone/on-start.sh
// runRedisServerInBackground, scripts/redis/sentinel/on-start.sh the same; the latter drops the
// first two args, the operator's own password pair, when REDISCLI_AUTH is a vs:// path, so the
// tenant's args come after the operator's). redis-server appends every option to the config file
// and "last config is the one that matters" (redis/redis src/server.c main, 7.2); `--save` with no
// value (the shell drops an empty arg) is `save ""` there. KubeDB mounts the claim at /data
// (kubedb.RedisDataVolumePath). KubeDB's docs: "spec.podTemplate.spec.args … additional arguments".
describe('KubeDB v1: the redis container\'s args reach redis-server after the config file', () => {
  it('control: no args, or args about other settings, are protected and durable', () => {
    for (const redis of [{}, { args: ['--loglevel', 'verbose'] }] as JsonObject[]) {
      expect(practices(kubedb({}, redis)).auth).toMatchObject({ missing: '', disabled: [], literal: [] });
      expect(practices(kubedb({}, redis)).persistence.durable).toBe(true);
    }
    expect(practices(kubedb({ disableAuth: true })).auth.disabled).toEqual([expect.stringContaining('spec.disableAuth')]);
  });

  it.each([
    [['--save', '', '--appendonly', 'no']],
    [['--appendonly', 'no', '--save']],
    [['--dir', '/tmp']],
  ])('args %j keep nothing on the claim at /data', (args) => {
    expect(practices(kubedb({}, { args })).persistence.durable).toBe(false);
  });
});

// The same through the shipped library, as the webhook reviews a tenant's create on premium: the
// PetSet's Pods are 'controlled' and authentication is judged on this CR only (authentication.yaml
// auth-enabled: when !workload.controlled), so nothing later refuses them.
describe('KubeDB v1 args through the shipped policies (plan premium)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = new Engine(await loadLibrary('policies/library'), { timeBudgetMs: 60_000 });
  });
  const outcome = (object: JsonObject, policy: string, rule: string): string | undefined =>
    engine.review({ object, operation: 'CREATE', namespace: { name: NS, labels: {} }, plan: 'premium', mutate: false })
      .results.find((r) => r.policy === policy && r.rule === rule)?.result;

  it('control: disableAuth is refused by authentication/auth-enabled; plain args pass it', () => {
    expect(outcome(kubedb({ disableAuth: true }), 'authentication', 'auth-enabled')).toBe('fail');
    expect(outcome(kubedb(), 'authentication', 'auth-enabled')).toBe('pass');
    expect(outcome(kubedb({ storageType: 'Ephemeral', storage: null }), 'persistence', 'durable-storage')).toBe('fail');
    expect(outcome(kubedb(), 'persistence', 'durable-storage')).toBe('pass');
  });

  // Refused hypothesis: a literal --requirepass passes the CR (KubeDB auth reads only disableAuth)
  // but its PetSet's Pods are refused, so no Redis runs with it.
  it('args --requirepass hunter2: the PetSet\'s Pod is refused by authentication/password-from-secret', () => {
    const pod: JsonObject = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: 'cache-0', namespace: NS,
        labels: { 'app.kubernetes.io/instance': 'cache', 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/name': 'redises.kubedb.com' },
        ownerReferences: [{ apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet', name: 'cache', uid: 'u-1', controller: true }],
      },
      spec: { containers: [{ name: 'redis', image: 'kubedb/redis:7.2.4', args: ['--requirepass', 'hunter2'], resources: { limits: { memory: '1Gi', cpu: '500m' } } }] },
    };
    expect(outcome(pod, 'authentication', 'password-from-secret')).toBe('fail');
    expect(outcome(kubedb({}, { args: ['--requirepass', 'hunter2'] }), 'authentication', 'password-from-secret')).toBe('pass');
  });

  it('the same Pod with --save \'\' --appendonly no is not judged for persistence (its owner is): only the CR can refuse it', () => {
    const pod: JsonObject = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'cache-0', namespace: NS, ownerReferences: [{ apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet', name: 'cache', uid: 'u-1', controller: true }] },
      spec: { containers: [{ name: 'redis', image: 'kubedb/redis:7.2.4', args: ['--save', '', '--appendonly', 'no'], resources: { limits: { memory: '1Gi', cpu: '500m' } } }] },
    };
    expect(outcome(pod, 'persistence', 'durable-storage')).not.toBe('fail');
  });

  it('args --save \'\' --appendonly no is refused by persistence/durable-storage on premium', () => {
    expect(outcome(kubedb({}, { args: ['--save', '', '--appendonly', 'no'] }), 'persistence', 'durable-storage')).toBe('fail');
  });
});

// KubeDB mounts spec.configSecret (a Secret, which tenants write) at /usr/local/etc/redis and passes
// its redis.conf to redis-server (kubedb/docs guides/redis/configuration/redis.md "Overview"); the
// v1 spec.configuration.secretName is its successor (kubedb.ts secretsOf). A `user admin on nopass
// ~* &* +@all` line there is a user without a password that the operator's later --requirepass
// (the default user's password only) does not touch. Redline does not read the file and says
// nothing: at least the auth-visible warning, as for the OT-Container-Kit additionalRedisConfig
// ConfigMap (attack4.test.ts), which a tenant cannot even write.
describe('KubeDB v1: configuration files Redline cannot read are at least reported', () => {
  it('control: without them, nothing is reported', () => {
    expect(practices(kubedb()).auth.unknown).toEqual([]);
  });

  it('spec.configSecret (a tenant-written Secret holding redis.conf) is reported as authentication Redline cannot see', () => {
    const a = practices(kubedb({ configSecret: { name: 'cache-config' } })).auth;
    expect([...a.disabled, ...a.unknown]).not.toEqual([]);
  });

  it('spec.configuration.secretName (v1\'s successor of configSecret) is reported too', () => {
    const a = practices(kubedb({ configuration: { secretName: 'cache-config' } })).auth;
    expect([...a.disabled, ...a.unknown]).not.toEqual([]);
  });
});

// KubeDB runs every *.sh under /init (the volume of spec.init.script) with `sh` inside the Redis
// container once the server answers, with REDISCLI_AUTH in its environment
// (kubedb/redis-init-docker scripts/standalone/on-start.sh loadInitData): a script from a Secret the
// tenant writes can `redis-cli CONFIG SET requirepass ""` or `CONFIG SET save ""`. Redline reads the
// script's volume only for hostPath and Secret references.
describe('KubeDB: spec.init.script runs a shell script in the Redis container after it starts', () => {
  it('control: no init script, nothing reported', () => {
    expect(practices(kubedb()).auth).toMatchObject({ disabled: [], unknown: [] });
  });

  it('a script from a Secret is at least reported as authentication Redline cannot see', () => {
    const a = practices(kubedb({ init: { script: { scriptPath: '/init', secret: { secretName: 'cache-init' } } } })).auth;
    expect([...a.disabled, ...a.unknown]).not.toEqual([]);
  });
});

// Quantities and counts as the ledger and the plan-limits facts read them.
describe('plan-limit arithmetic: what the ledger and memory-per-pod count is what the pods run', () => {
  const withLimits = (limits: JsonObject, requests?: JsonObject): JsonObject =>
    kubedb({}, { resources: { limits, ...(requests ? { requests } : {}) } });

  it('control: 1Gi, its spellings 1073741824 (a number), "1073741824", "1.073741824G", "1Gi" are one figure', () => {
    const figures = [{ memory: '1Gi' }, { memory: 1073741824 }, { memory: '1073741824' }, { memory: '1.073741824e9' }, { memory: '0.0009765625Ti' }]
      .map((m) => viewUsage(viewOf(withLimits({ ...m, cpu: '500m' }))).memory);
    expect(new Set(figures).size).toBe(1);
    expect(figures[0]).toBe(BigInt(GI) * 10n ** 9n);
  });

  it('a huge limit (8Ei) is counted as written, not as the default', () => {
    const big = viewUsage(viewOf(withLimits({ memory: '8Ei', cpu: '500m' })), { memory: '1Gi', cpu: '1' }).memory;
    expect(big).toBe((1n << 63n) * 10n ** 9n);
    expect(practices(withLimits({ memory: '8Ei', cpu: '500m' })).resources.memoryLimit).toBe('8Ei');
  });

  it('an exponent Redline cannot hold (1e61) leaves memory-per-pod without a figure (refused), never at the default', () => {
    expect(practices(withLimits({ memory: '1e61', cpu: '500m' }), ).resources.memoryLimit).toBe('');
  });

  it('a tiny limit (0.0001Ki) is still counted as above zero, as the kubelet gets it', () => {
    const u = viewUsage(viewOf(withLimits({ memory: '0.0001Ki', cpu: '500m' })), { memory: '1Gi', cpu: '1' }).memory;
    expect(u > 0n && u < BigInt(GI) * 10n ** 9n).toBe(true);
  });

  it('a limit on cpu only: memory counts the plan default, as the LimitRange gives it', () => {
    const v = viewOf(withLimits({ cpu: '500m' }));
    expect(viewUsage(v, { memory: '2Gi', cpu: '1' }).memory).toBe(2n * BigInt(GI) * 10n ** 9n);
    expect(practicesOf(v, withLimits({ cpu: '500m' }), { containerDefaults: { memory: '2Gi', cpu: '1' } }).resources.memoryLimit).toBe('2Gi');
  });
});
