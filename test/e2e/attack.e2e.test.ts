// A red-team pass as tenant "acme" (token users in group redline:tenant:acme, the bundle's ClusterRole
// redline-tenant bound in its namespaces) against a real kube-apiserver 1.20 with the shipped webhook
// configurations pointed at a real `redline serve` that keeps the tenant ledger (plan standard
// selling 10Gi of Redis memory across the tenant's namespaces, see helpers/ledger-cluster.ts).
// Each way past Redline it found was admitted before the fix that came with this file: fields an
// operator reads otherwise than they are written (Spotahome's replicas of 0, its customConfig lines,
// OT-Container-Kit's spec.env), a KeyDB image, and KubeDB's spec.configuration. Each has a control
// next to it: the same object with the value Redline always judged right.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, parseMetrics } from '../bench/bootstrap-harness.js';
import { until } from '../helpers/wait.js';
import { ok, path, P } from './helpers/isolation-http.js';
import { inNs, refusedByWebhook, show } from './helpers/red-team.js';
import { NAMESPACES, TENANT, redis, startLedgerCluster, type LedgerCluster } from './helpers/ledger-cluster.js';
import { failover } from './helpers/operators-objects.js';
import { otRedis } from './helpers/isolation-objects.js';

let w: LedgerCluster;
const [A, B] = NAMESPACES;
const GI = 2 ** 30;
const failovers = (ns: string, name?: string): string => path('databases.spotahome.com/v1', 'redisfailovers', ns, name);

async function usage(dimension: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${w.replicas[0]!.healthPort}/metrics`);
  return metricSum(parseMetrics(await res.text()), 'redline_tenant_usage', { tenant: TENANT, dimension });
}

describe('red team: a tenant against Redline on a real kube-apiserver', () => {
  beforeAll(async () => {
    w = await startLedgerCluster({ replicas: 1 });
  }, 180_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  describe('Spotahome RedisFailover: Redline counts the pods the operator runs', () => {
    // Spotahome's RedisFailover.Validate() (api/redisfailover/v1/validate.go) turns
    // `spec.redis.replicas <= 0` into 3 Redis pods and `spec.sentinel.replicas <= 0` into 3
    // Sentinels; the CRD has no minimum.
    const RES_4GI = { limits: { cpu: '500m', memory: '4Gi' }, requests: { cpu: '500m', memory: '4Gi' } };

    it('control: 3 Redis pods of 4Gi (12Gi + 384Mi of Sentinels) are refused, over the plan\'s 12Gi per workload', async () => {
      refusedByWebhook(
        await w.tenants[0]!.create(failovers(A), inNs(failover('rf-three', { replicas: 3, resources: RES_4GI }), A)),
        /plan-limits\.memory-total: 3 pods use 12672Mi of memory in total, over plan standard's 12Gi/,
      );
    });

    it('spec.redis.replicas 0 (the operator runs 3 pods of 4Gi = 12Gi) is refused too, not counted as 0 pods', async () => {
      refusedByWebhook(
        await w.tenants[0]!.create(failovers(A), inNs(failover('rf-zero', { replicas: 0, resources: RES_4GI }), A)),
        /plan-limits\.memory-total: 3 pods use 12672Mi of memory in total/,
      );
    });

    it('spec.redis.replicas -5: a negative count is refused, not counted as 0 pods', async () => {
      const a = await w.tenants[1]!.create(failovers(B), inNs(failover('rf-negative', { replicas: -5, resources: RES_4GI }, { replicas: -1 }), B));
      refusedByWebhook(a, /plan-limits\.memory-total: 3 pods use 12672Mi of memory in total/);
    });
  });

  describe('authentication a tenant can switch off', () => {
    // Spotahome applies every customConfig line with CONFIG SET, splitting it at the first space
    // (service/redis/client.go getConfigParameters): "requirepass " is CONFIG SET requirepass "",
    // which removes the password the operator set from spec.auth.secretPath.
    it('a RedisFailover whose customConfig "requirepass " empties the password is refused', async () => {
      ok(await w.tenants[0]!.create(P.secrets(B), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rf-open-auth' }, stringData: { password: 'a-long-password' } }), 'auth Secret');
      const a = await w.tenants[0]!.create(failovers(B), inNs(failover('rf-open', { customConfig: ['requirepass '] }), B));
      refusedByWebhook(a, /requirepass/);
    });

    it('control: customConfig "requirepass hunter2" (a literal password) is refused', async () => {
      refusedByWebhook(
        await w.tenants[0]!.create(failovers(B), inNs(failover('rf-literal', { customConfig: ['requirepass hunter2'] }), B)),
        /requirepass/,
      );
    });
  });

  describe('a KeyDB server recognised by its image', () => {
    // README: "every container that runs a Redis/Valkey/KeyDB server counts toward the per-pod
    // figures". The KeyDB image runs keydb-server as its entrypoint, so a container with that image
    // and no command is a KeyDB server.
    it('a KubeDB Redis with a KeyDB sidecar (1Gi + 3.5Gi of servers, over standard\'s 4Gi per pod) is refused', async () => {
      const body = redis(A, 'keydb-twin', '1Gi');
      (body as any).spec.podTemplate.spec.containers.push({
        name: 'cache',
        image: 'eqalpha/keydb:x86_64_v6.3.4',
        resources: { limits: { memory: '3584Mi', cpu: '500m' }, requests: { memory: '3584Mi', cpu: '500m' } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 999 },
      });
      const a = await w.tenants[0]!.create(P.kubedbRedis(A), body, true);
      refusedByWebhook(a, /memory/);
    });

    it('control: the same sidecar running keydb-server by command is counted and refused', async () => {
      const body = redis(A, 'keydb-cmd', '1Gi');
      (body as any).spec.podTemplate.spec.containers.push({
        name: 'cache',
        image: 'eqalpha/keydb:x86_64_v6.3.4',
        command: ['keydb-server', '--port', '6380'],
        resources: { limits: { memory: '3584Mi', cpu: '500m' }, requests: { memory: '3584Mi', cpu: '500m' } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 999 },
      });
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(A), body, true), /memory limits sum to 4608Mi per pod|4\.5Gi|over plan standard/);
    });
  });

  describe('OT-Container-Kit: the CR\'s spec.env overrides what the operator derives from the CR', () => {
    // The operator builds the Redis container's env from the CR (REDIS_PASSWORD from
    // kubernetesConfig.redisSecret, TLS_MODE=true from spec.TLS), appends spec.env and stable-sorts
    // by name (k8sutils/statefulset.go getEnvironmentVariables): a spec.env entry of the same name
    // comes after the operator's and wins in the container. The image's entrypoint writes
    // requirepass only for a non-empty REDIS_PASSWORD and turns TLS on only for TLS_MODE=true.
    const withSecret = (name: string, env: unknown[]): Record<string, unknown> => otRedis(B, name, {
      spec: { kubernetesConfig: { redisSecret: { name: `${name}-auth`, key: 'password' } }, env },
    });

    it('control: the OT Redis with redisSecret and TLS is admitted', async () => {
      const a = await w.tenants[0]!.create(P.otRedis(B), withSecret('ot-ok', []), true);
      expect(a.status, show(a)).toBe(201);
    });

    it('spec.env REDIS_PASSWORD="" (an empty password over the Secret\'s) is refused', async () => {
      refusedByWebhook(await w.tenants[0]!.create(P.otRedis(B), withSecret('ot-nopass', [{ name: 'REDIS_PASSWORD', value: '' }]), true), /REDIS_PASSWORD|password/);
    });

    it('spec.env TLS_MODE=false (plaintext while spec.TLS is set) is refused', async () => {
      refusedByWebhook(await w.tenants[0]!.create(P.otRedis(B), withSecret('ot-notls', [{ name: 'TLS_MODE', value: 'false' }]), true), /TLS/);
    });
  });

  describe('the tenant CA Secret through KubeDB v1 spec.configuration', () => {
    // KubeDB v1 spec.configuration (secretName: the config Secret KubeDB mounts into every Redis
    // pod, the successor of spec.configSecret; acl.secretRef: the ACL Secret). README, security
    // model: "no workload mounts or references redline-tenant-ca".
    it('control: spec.configSecret.name redline-tenant-ca is refused', async () => {
      const body = redis(A, 'ca-config-old', '1Gi') as any;
      body.spec.configSecret = { name: 'redline-tenant-ca' };
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(A), body, true), /redline-tenant-ca/);
    });

    it('spec.configuration.secretName redline-tenant-ca is refused', async () => {
      const body = redis(A, 'ca-config', '1Gi') as any;
      body.spec.configuration = { secretName: 'redline-tenant-ca' };
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(A), body, true), /redline-tenant-ca/);
    });

    it('spec.configuration.acl.secretRef redline-tenant-ca is refused', async () => {
      const body = redis(A, 'ca-acl', '1Gi') as any;
      body.spec.configuration = { acl: { secretRef: { name: 'redline-tenant-ca' }, rules: ['app ${k1} allkeys +@all'] } };
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(A), body, true), /redline-tenant-ca/);
    });
  });

  // Last: it leaves the tenant's ledger nearly full (the dry runs above are judged against it too).
  describe('Spotahome RedisFailover: the tenant ledger counts the pods the operator runs', () => {
    it('the tenant ledger: two failovers of 3 × 3Gi written as replicas 0 (18Gi run) do not both fit the tenant\'s 10Gi', async () => {
      const RES_3GI = { limits: { cpu: '500m', memory: '3Gi' }, requests: { cpu: '500m', memory: '3Gi' } };
      // Control: written as the 3 pods the operator runs, the first fits (9Gi + 384Mi of Sentinels)…
      const honest = await w.tenants[2]!.create(failovers(B), inNs(failover('rf-honest', { replicas: 3, resources: RES_3GI }), B), true);
      expect(honest.status, show(honest)).toBe(201);
      // …and written as replicas 0 (which the operator runs as 3 pods) the second does not fit beside the first.
      const first = await w.tenants[2]!.create(failovers(B), inNs(failover('rf-ledger-1', { replicas: 0, resources: RES_3GI }), B));
      expect(first.status, show(first)).toBe(201);
      await until('the ledger counts rf-ledger-1 as the 3 pods of 3Gi it runs', async () => (await usage('memory')) >= 9 * GI, 10_000, 100);
      expect(await usage('pods')).toBeGreaterThanOrEqual(6); // 3 Redis pods and 3 Sentinels
      const second = await w.tenants[3]!.create(failovers(A), inNs(failover('rf-ledger-2', { replicas: 0, resources: RES_3GI }), A));
      refusedByWebhook(second, /tenant acme: memory .* > 10Gi in plan standard/);
    });
  });
});
