// A red-team pass on the tenant ledger and the namespace's controls, as tenant "acme" (token users in
// group redline:tenant:acme, the bundle's ClusterRole redline-tenant bound in its namespaces) against
// a real kube-apiserver 1.20 with the shipped webhook configurations pointed at a real `redline serve`
// that keeps the tenant ledger (plan standard selling 10Gi of memory and 5 pods across the tenant's
// two namespaces, see helpers/ledger-cluster.ts). The ways past Redline it found (a redisearch
// sidecar, a Redis named after the Redis Enterprise operator's account, redline-tenant-ca created by
// a tenant ServiceAccount, KubeDB v1alpha2 resources the stored object drops) were admitted before
// the fixes that came with this file; each has a control next to it.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, parseMetrics } from '../bench/bootstrap-harness.js';
import { until } from '../helpers/wait.js';
import { type Answer, ok, path, P, parseWarnings } from './helpers/isolation-http.js';
import { NAMESPACES, TENANT, TOTALS, redis, startLedgerCluster, type LedgerCluster } from './helpers/ledger-cluster.js';
import { refusedByWebhook, show } from './helpers/red-team.js';

let w: LedgerCluster;
const [A, B] = NAMESPACES;
const GI = 2 ** 30;
const PODS = 5;

/** Every reservation lapsed (a deleted object's reservation counts until it lapses) and `instances` objects left. */
async function waitSettled(instances: number): Promise<void> {
  await until(`the ledger settled at ${instances} objects`, async () => {
    if ((await usage('instances')) !== instances) return false;
    const record = await w.admin.get('/api/v1/namespaces/redline-ledger/configmaps/redline-ledger-acme');
    const list = JSON.parse((record.body?.data?.reservations as string | undefined) ?? '[]') as { expires: string }[];
    return list.every((r) => Date.parse(r.expires) <= Date.now());
  }, 15_000, 100);
}

async function waitEmpty(): Promise<void> {
  await waitSettled(0);
}

async function usage(dimension: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${w.replicas[0]!.healthPort}/metrics`);
  return metricSum(parseMetrics(await res.text()), 'redline_tenant_usage', { tenant: TENANT, dimension });
}

/** A request as another identity (the admin impersonating it), e.g. a ServiceAccount a Tenant lists in spec.subjects. */
function as(user: string, groups: string[], method: string, p: string, body?: unknown): Promise<Answer> {
  const { cp } = w.cluster;
  const url = new URL(`${cp.url}${p}`);
  const headers: Record<string, string | string[]> = {
    Accept: 'application/json', Authorization: `Bearer ${cp.users['admin']!.token}`, 'Impersonate-User': user, 'Impersonate-Group': groups,
  };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: cp.caPem, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed = text ? JSON.parse(text) : undefined;
        const status = res.statusCode ?? 0;
        resolve({ status, body: parsed, message: status >= 400 ? String(parsed?.message ?? text) : '', warnings: parseWarnings(res.headers['warning']) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A sidecar that runs a second Redis server: the image's own entrypoint starts it. */
function withSidecar(ns: string, name: string, redisMemory: string, image: string, sidecarMemory: string): Record<string, unknown> {
  const body = redis(ns, name, redisMemory) as any;
  body.spec.podTemplate.spec.containers.push({
    name: 'search',
    image,
    resources: { limits: { memory: sidecarMemory, cpu: '500m' }, requests: { memory: sidecarMemory, cpu: '500m' } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
  });
  return body;
}

describe('red team 3: the tenant ledger and the namespace\'s controls on a real kube-apiserver', () => {
  beforeAll(async () => {
    w = await startLedgerCluster({ replicas: 1, totals: { ...TOTALS, pods: PODS } });
  }, 180_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  describe('UPDATE paths: a JSON patch or a merge patch that grows an existing Redis', () => {
    const limitPath = '/spec/podTemplate/spec/containers/0/resources/limits/memory';

    it('control: a JSON patch from 1Gi to 2Gi within the tenant\'s 10Gi is admitted and counted', async () => {
      ok(await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'grow', '1Gi')), 'grow at 1Gi');
      const a = await w.tenants[1]!.request('PATCH', P.kubedbRedis(A, 'grow'), [{ op: 'replace', path: limitPath, value: '2Gi' }], { patch: 'json' });
      expect(a.status, show(a)).toBe(200);
      await until('the ledger counts 2Gi', async () => (await usage('memory')) === 2 * GI, 10_000, 100);
    });

    it('with the tenant full, growing by JSON patch or by merge patch is refused by the ledger', async () => {
      ok(await w.tenants[0]!.create(P.kubedbRedis(B), redis(B, 'fill-1', '4Gi')), 'fill-1');
      ok(await w.tenants[0]!.create(P.kubedbRedis(B), redis(B, 'fill-2', '4Gi')), 'fill-2');
      await until('the ledger counts 10Gi', async () => (await usage('memory')) === 10 * GI, 10_000, 100);
      refusedByWebhook(
        await w.tenants[3]!.request('PATCH', P.kubedbRedis(A, 'grow'), [{ op: 'replace', path: limitPath, value: '3Gi' }], { patch: 'json' }),
        /tenant acme: memory 10Gi used \+ 0 reserved \+ 1Gi requested > 10Gi in plan standard/,
      );
      const merge = { spec: { podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '4Gi', cpu: '500m' } } }] } } } };
      refusedByWebhook(await w.tenants[4]!.request('PATCH', P.kubedbRedis(A, 'grow'), merge, { patch: 'merge' }), /tenant acme: memory .* > 10Gi in plan standard/);
      // A new replica is growth too (pods and memory).
      refusedByWebhook(
        await w.tenants[3]!.request('PATCH', P.kubedbRedis(A, 'grow'), [{ op: 'replace', path: '/spec/replicas', value: 2 }], { patch: 'json' }),
        /tenant acme: .* > .* in plan standard/,
      );
    });

    it('shrinking is admitted at once, and only what it freed can be grown back elsewhere', async () => {
      const a = await w.tenants[0]!.request('PATCH', P.kubedbRedis(B, 'fill-1'), [{ op: 'replace', path: limitPath, value: '3Gi' }], { patch: 'json' });
      expect(a.status, show(a)).toBe(200);
      await until('the ledger counts 9Gi', async () => (await usage('memory')) === 9 * GI, 10_000, 100);
      refusedByWebhook(
        await w.tenants[1]!.request('PATCH', P.kubedbRedis(A, 'grow'), [{ op: 'replace', path: limitPath, value: '4Gi' }], { patch: 'json' }),
        /tenant acme: memory 9Gi used \+ 0 reserved \+ 2Gi requested > 10Gi in plan standard/,
      );
      const b = await w.tenants[1]!.request('PATCH', P.kubedbRedis(A, 'grow'), [{ op: 'replace', path: limitPath, value: '3Gi' }], { patch: 'json' });
      expect(b.status, show(b)).toBe(200);
    });

    it('the status subresource is not the tenant\'s to write (RBAC), so it cannot carry a spec change past the webhook', async () => {
      const current = ok(await w.tenants[0]!.get(P.kubedbRedis(A, 'grow')), 'read grow').body;
      const a = await w.tenants[0]!.put(`${P.kubedbRedis(A, 'grow')}/status`, current);
      expect(a.status, show(a)).toBe(403);
      expect(a.message).toMatch(/cannot update resource "redises\/status"/);
    });

    afterAll(async () => {
      for (const [ns, name] of [[A, 'grow'], [B, 'fill-1'], [B, 'fill-2']] as const) await w.admin.delete(P.kubedbRedis(ns, name));
      await waitEmpty();
    }, 30_000);
  });

  describe('KubeDB kubedb.com/v1alpha2: judged by the fields the API server then drops', () => {
    // The upstream KubeDB Redis CRD (shared/crds/kubedb) serves v1alpha2 and v1, stores v1 and has no
    // conversion webhook (strategy None): a v1alpha2 object is stored as the same JSON under v1,
    // pruned to the v1 schema. v1alpha2's flat spec.podTemplate.spec.resources is no v1 field, so the
    // stored Redis (what KubeDB and Redline's own usage cache read) has a redis container without
    // resources, which Redline counts at the plan's default (standard: 1Gi per pod). The ledger
    // judged the create by the v1alpha2 figure.
    const alpha = (ns: string, name: string, memory: string): Record<string, unknown> => ({
      apiVersion: 'kubedb.com/v1alpha2', kind: 'Redis', metadata: { name, namespace: ns },
      spec: {
        version: '7.2.4', mode: 'Standalone', authSecret: { name: `${name}-auth` },
        storageType: 'Durable', storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        podTemplate: { spec: { resources: { limits: { memory, cpu: '100m' }, requests: { memory, cpu: '100m' } } } },
        terminationPolicy: 'Delete',
      },
    });

    it('what the ledger admitted stays within the tenant\'s 10Gi by the ledger\'s own count', async () => {
      ok(await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'big-1', '4Gi')), 'big-1');
      ok(await w.tenants[0]!.create(P.kubedbRedis(B), redis(B, 'big-2', '4Gi')), 'big-2');
      ok(await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'half', '512Mi')), 'half');
      await until('the ledger counts 8.5Gi', async () => (await usage('memory')) === 8.5 * GI, 10_000, 100);
      const answers: Answer[] = [];
      for (let i = 0; i < 2; i++) {
        const a = await w.tenants[1]!.create(path('kubedb.com/v1alpha2', 'redises', B), alpha(B, `small-${i}`, '64Mi'));
        answers.push(a);
        if (a.status === 201) await until('the ledger sees it', async () => (await usage('instances')) === 4 + i, 10_000, 100);
      }
      const stored = ok(await w.admin.get(P.kubedbRedis(B, 'small-0')), 'read small-0 as v1').body as { spec: { podTemplate?: unknown } };
      const used = await usage('memory');
      console.log(`[attack3] v1alpha2 creates: ${answers.map((a) => a.status).join(', ')}; stored podTemplate ${JSON.stringify(stored.spec.podTemplate)}; ledger memory ${used / GI}Gi of 10Gi`);
      expect(used, 'memory Redline counts after its own admissions').toBeLessThanOrEqual(10 * GI);
      // The first is reserved at the default it runs with (1Gi on standard); the second does not fit.
      expect(answers[0]!.status, show(answers[0]!)).toBe(201);
      refusedByWebhook(answers[1]!, /tenant acme: memory .* > 10Gi in plan standard/);
    });

    it('control: the same creates written as kubedb.com/v1 (64Mi each, stored as written): both fit and are counted at 64Mi', async () => {
      for (const [ns, name] of [[B, 'small-0'], [B, 'small-1']] as const) await w.admin.delete(P.kubedbRedis(ns, name));
      await waitSettled(3);
      for (let i = 0; i < 2; i++) {
        const a = await w.tenants[1]!.create(P.kubedbRedis(B), redis(B, `small-v1-${i}`, '64Mi'));
        expect(a.status, show(a)).toBe(201);
      }
      await until('the ledger counts 8.625Gi', async () => (await usage('memory')) === 8.5 * GI + 128 * 2 ** 20, 10_000, 100);
    });

    afterAll(async () => {
      for (const [ns, name] of [[A, 'big-1'], [B, 'big-2'], [A, 'half'], [B, 'small-0'], [B, 'small-1'], [B, 'small-v1-0'], [B, 'small-v1-1']] as const) await w.admin.delete(P.kubedbRedis(ns, name));
      await waitEmpty();
    }, 30_000);
  });

  describe('a second Redis server in a sidecar, by an image whose entrypoint runs redis-server', () => {
    // redislabs/redisearch (like redislabs/rejson, redislabs/redismod, redislabs/redistimeseries)
    // is the Redis image with a module: its CMD is `redis-server --loadmodule …`. README: "every
    // container that runs a Redis/Valkey/KeyDB server counts toward the per-pod figures".
    it('control: a sidecar on redis:7.2.4 (1Gi + 3.5Gi of servers, over standard\'s 4Gi per pod) is refused', async () => {
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(A), withSidecar(A, 'twin-redis', '1Gi', 'redis:7.2.4', '3584Mi'), true), /memory/);
    });

    it('a sidecar on redislabs/redisearch (1Gi + 3.5Gi of servers) is refused too', async () => {
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(A), withSidecar(A, 'twin-search', '1Gi', 'redislabs/redisearch:2.8.4', '3584Mi'), true), /memory/);
    });

    it('the tenant ledger: three Redis with a 3Gi redisearch sidecar each (10.5Gi of servers) do not all fit the tenant\'s 10Gi', async () => {
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i++) {
        const ns = i % 2 === 0 ? A : B;
        answers.push(await w.tenants[i]!.create(P.kubedbRedis(ns), withSidecar(ns, `search-${i}`, '512Mi', 'redislabs/redisearch:2.8.4', '3Gi')));
      }
      await until('the ledger sees what was admitted', async () => (await usage('instances')) === answers.filter((a) => a.status === 201).length, 10_000, 100);
      console.log(`[attack3] redisearch sidecars: ${answers.map((a) => a.status).join(', ')}; ledger memory ${(await usage('memory')) / GI}Gi for ${answers.filter((a) => a.status === 201).length * 3.5}Gi of Redis servers`);
      refusedByWebhook(answers[2]!, /tenant acme: memory .* > 10Gi in plan standard/);
    });

    it('control: three Redis with a 3Gi redis:7.2.4 sidecar each: the third is refused by the ledger', async () => {
      for (let i = 0; i < 3; i++) await w.admin.delete(P.kubedbRedis(i % 2 === 0 ? A : B, `search-${i}`));
      await waitEmpty();
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i++) {
        const ns = i % 2 === 0 ? A : B;
        answers.push(await w.tenants[i]!.create(P.kubedbRedis(ns), withSidecar(ns, `twin-${i}`, '512Mi', 'redis:7.2.4', '3Gi')));
      }
      expect(answers[0]!.status, show(answers[0]!)).toBe(201);
      expect(answers[1]!.status, show(answers[1]!)).toBe(201);
      refusedByWebhook(answers[2]!, /tenant acme: memory 7Gi used \+ \S+ reserved \+ 3584Mi requested > 10Gi in plan standard/);
      for (let i = 0; i < 2; i++) await w.admin.delete(P.kubedbRedis(i % 2 === 0 ? A : B, `twin-${i}`));
      await waitEmpty();
    });
  });

  describe('a Redis pod under the Redis Enterprise operator\'s ServiceAccount, by naming the Redis after it', () => {
    // README (Redis Enterprise): the platform installs the operator bundle (ServiceAccount, Role,
    // RoleBinding, Deployment redis-enterprise-operator) in the tenant namespace; its Role reads every
    // Secret of the namespace (redline-tenant-ca included) and writes Roles and RoleBindings. "A pod
    // that runs under its ServiceAccount is as strong as the operator, so a tenant object must not
    // run pods under it." isolation.service-account allows "", "default" and the object's own name.
    const OPERATOR_SA = 'redis-enterprise-operator';
    const thief = (name: string): Record<string, unknown> => {
      const body = redis(B, name, '1Gi') as any;
      body.spec.podTemplate.spec.serviceAccountName = OPERATOR_SA;
      // A sidecar that prints the pod's token to its log (the tenant reads pods/log).
      body.spec.podTemplate.spec.containers.push({
        name: 'print', image: 'busybox:1.36', command: ['sh', '-c', 'cat /var/run/secrets/kubernetes.io/serviceaccount/token; sleep 1d'],
        resources: { limits: { memory: '16Mi', cpu: '10m' }, requests: { memory: '16Mi', cpu: '10m' } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
      });
      return body;
    };

    beforeAll(async () => {
      ok(await w.admin.create(P.serviceAccounts(B), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR_SA } }), 'the operator\'s ServiceAccount');
    });

    it('control: a KubeDB Redis "token-thief" whose pods run as redis-enterprise-operator is refused', async () => {
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(B), thief('token-thief')), /isolation\.service-account/);
    });

    it('the same Redis named "redis-enterprise-operator" is refused too', async () => {
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(B), thief(OPERATOR_SA)), /isolation\.service-account/);
    });
  });

  describe('the tenant CA Secret, written first by a tenant subject that is a ServiceAccount', () => {
    // The controller stamps Certificate redline-tenant-ca (isCA, from the platform ClusterIssuer,
    // privateKey.rotationPolicy Never: cert-manager reuses the key pair of a Secret that is already
    // there). A Tenant's spec.subjects may list ServiceAccounts (README, Tenants); the webhook
    // refuses redline-tenant-ca only to "tenant users", which it takes to be identities that do not
    // start with system: — a ServiceAccount's username does.
    const SA = `system:serviceaccount:${B}:deployer`;
    const SA_GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${B}`, 'system:authenticated'];
    const caSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'redline-tenant-ca' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'x', 'tls.key': 'y' } };

    beforeAll(async () => {
      // As the controller binds a Tenant's spec.subjects: the ServiceAccount gets redline-tenant.
      ok(await w.admin.create(P.serviceAccounts(B), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } }), 'the deployer ServiceAccount');
      ok(await w.admin.create(P.roleBindings(B), {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'redline-tenant-sa' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'redline-tenant' },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: B }],
      }), 'the tenant binding of the ServiceAccount');
    });

    it('control: tenant user alice creating redline-tenant-ca is refused', async () => {
      refusedByWebhook(await w.tenants[0]!.create(P.secrets(B), caSecret), /redline-tenant-ca is where cert-manager writes the namespace's CA/);
    });

    it('control: the ServiceAccount holds the tenant role (it may create an ordinary Secret)', async () => {
      const a = await as(SA, SA_GROUPS, 'POST', P.secrets(B), { ...caSecret, metadata: { name: 'deployer-own' } });
      expect(a.status, show(a)).toBe(201);
    });

    it('the tenant\'s ServiceAccount creating redline-tenant-ca is refused', async () => {
      refusedByWebhook(await as(SA, SA_GROUPS, 'POST', P.secrets(B), caSecret), /redline-tenant-ca/);
    });
  });
});
