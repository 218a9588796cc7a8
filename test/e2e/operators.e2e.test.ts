// The operators added for issue 16 against a real kube-apiserver 1.20: the reduced upstream CRDs of
// Redis Enterprise (REC v1 + v1alpha1, REDB, REAADB, RERC) and Spotahome (RedisFailover) loaded,
// the bundle's RBAC (rbac-tenant.yaml bound by a real `redline controller`), the shipped webhook
// configurations pointed at a real `redline serve`. A tenant (token user in group
// redline:tenant:ops) creates, updates and is denied for each new kind; ReplicationControllers are
// written by an operator identity (tenants cannot create them).
//
// The CRDs are reduced to `x-kubernetes-preserve-unknown-fields` (test/e2e/controlplane/crds.ts):
// fields a real API server would prune (REDB spec.redisEnterpriseCluster.namespace) reach the
// webhook here, which is what a cluster with a looser CRD would see.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ENTERPRISE, ALLOW_ENTERPRISE_ADMISSION, ALLOW_ENTERPRISE_CLIENTS } from '../../bootstrap/render.js';
import { readCrdFile, reducedCrds, repairCrdText, sharedCrdsDir } from './controlplane/crds.js';
import { until } from '../helpers/wait.js';
import { type Answer, ok, P } from './helpers/isolation-http.js';
import { FOREIGN_NS, NS, NS_STANDARD, startOperatorsCluster, type OperatorsCluster } from './helpers/operators-cluster.js';
import { OP, enterpriseOperatorDeployment, failover, reaadb, rec, redb, replicationController, rerc } from './helpers/operators-objects.js';

// ---- the loader: two upstream files are not strict YAML ---------------------------------------

type Schema = Record<string, any>;
const specProps = (crd: Record<string, any>, version: string): Schema =>
  crd.spec.versions.find((v: { name: string }) => v.name === version).schema.openAPIV3Schema.properties.spec.properties;

describe('CRD loader (test/e2e/controlplane/crds.ts)', () => {
  it('REC: re-indents the description continued at its key\'s indentation, so no stray "More info" key is read', () => {
    const file = path.join(sharedCrdsDir(), 'redis-enterprise', 'rec_crd.yaml');
    const { crds, repairs } = readCrdFile(file);
    expect(repairs).toEqual([{ line: 4589, what: 'quoted-scalar-indent', text: "More info: https://kubernetes.io/docs/concepts/storage/volumes/'" }]);
    const mounts = specProps(crds[0]!, 'v1')['redisEnterpriseVolumeMounts'];
    expect(Object.keys(mounts).sort()).toEqual(['description', 'items', 'type']);
    expect(mounts.description).toBe('additional volume mounts within the redis enterprise containers. More info: https://kubernetes.io/docs/concepts/storage/volumes/');
    expect(mounts.items.required).toEqual(['mountPath', 'name']);
    // the rest of the schema is read as before: both versions, the same fields
    expect(Object.keys(specProps(crds[0]!, 'v1')).length).toBe(Object.keys(specProps(crds[0]!, 'v1alpha1')).length);
  });

  it('Spotahome: drops the Helm template lines; the annotations are the controller-gen one only', () => {
    const file = path.join(sharedCrdsDir(), 'spotahome', 'databases.spotahome.com_redisfailovers.yaml');
    const { crds, repairs } = readCrdFile(file);
    expect(repairs.map((r) => [r.line, r.what])).toEqual([[7, 'helm-template-line'], [8, 'helm-template-line'], [9, 'helm-template-line']]);
    expect(crds[0]!.metadata.annotations).toEqual({ 'controller-gen.kubebuilder.io/version': '(devel)' });
    const redis = specProps(crds[0]!, 'v1')['redis'].properties;
    expect(Object.keys(redis)).toEqual(expect.arrayContaining(['replicas', 'resources', 'storage', 'securityContext', 'containerSecurityContext', 'affinity']));
  });

  it('a clean file needs no repair; a file still broken after the repairs throws naming it', () => {
    expect(readCrdFile(path.join(sharedCrdsDir(), 'redis-enterprise', 'redb_crd.yaml')).repairs).toEqual([]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redline-crds-'));
    try {
      const bad = path.join(dir, 'bad.yaml');
      fs.writeFileSync(bad, 'kind: CustomResourceDefinition\nspec: {group: [x\n');
      expect(() => readCrdFile(bad)).toThrow(/bad\.yaml: not valid YAML even after 0 repair/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // a quoted value that closes on its line, and an escaped quote, leave what follows alone
    const text = "a:\n  b: 'it''s'\n  c: 1\n  d: 'open\n  still'\n  e: 2\n";
    expect(repairCrdText(text)).toEqual({ text: "a:\n  b: 'it''s'\n  c: 1\n  d: 'open\n    still'\n  e: 2\n", repairs: [{ line: 5, what: 'quoted-scalar-indent', text: "still'" }] });
  });

  it('reduces the new CRDs with their served versions (REC: v1 storage + v1alpha1)', () => {
    const byName = new Map(reducedCrds().map((c) => [c.metadata.name, c.spec.versions.map((v) => `${v.name}${v.storage ? '*' : ''}`)]));
    expect(byName.get('redisenterpriseclusters.app.redislabs.com')).toEqual(['v1*', 'v1alpha1']);
    expect(byName.get('redisenterprisedatabases.app.redislabs.com')).toEqual(['v1alpha1*']);
    expect(byName.get('redisenterpriseactiveactivedatabases.app.redislabs.com')).toEqual(['v1alpha1*']);
    expect(byName.get('redisenterpriseremoteclusters.app.redislabs.com')).toEqual(['v1alpha1*']);
    expect(byName.get('redisfailovers.databases.spotahome.com')).toEqual(['v1*']);
  });
});

// ---- the cluster ------------------------------------------------------------------------------

const REDLINE_DENIED = 'validate.redline.dev';

/** A create/update the webhook must refuse, with `why` in its message. */
function expectDenied(a: Answer, why: string | RegExp): void {
  expect(a.status, `expected a Redline denial, got HTTP ${a.status}: ${a.message}`).toBe(403);
  expect(a.message).toContain(REDLINE_DENIED);
  if (typeof why === 'string') expect(a.message).toContain(why);
  else expect(a.message).toMatch(why);
}

function expectRbacDenied(a: Answer, verb: string, resource: string): void {
  expect(a.status, a.message).toBe(403);
  expect(a.message).toContain(`cannot ${verb} resource "${resource}"`);
  expect(a.message).not.toContain(REDLINE_DENIED);
}

function expectAdmitted(a: Answer, status = 201): void {
  expect(a.status, `expected HTTP ${status}; the API server said: ${a.message}`).toBe(status);
}

describe('operators e2e: a tenant drives every new kind', () => {
  let c: OperatorsCluster;
  beforeAll(async () => {
    c = await startOperatorsCluster();
  }, 180_000);
  afterAll(async () => {
    await c?.stop();
  });

  const obj = (o: Record<string, any>, ns = NS): Record<string, any> => ({ ...o, metadata: { ...o.metadata, namespace: ns } });

  describe('the tenant role and the namespace the controller stamps', () => {
    it('the tenant may list every new kind in its namespace, not in another tenant\'s', async () => {
      for (const p of [OP.rec(NS), OP.rec(NS, undefined, 'v1alpha1'), OP.redb(NS), OP.reaadb(NS), OP.rerc(NS), OP.failover(NS)]) {
        expect((await c.tenant.get(p)).status, p).toBe(200);
      }
      const foreign = await c.tenant.get(OP.redb(FOREIGN_NS));
      expectRbacDenied(foreign, 'list', 'redisenterprisedatabases');
    });

    it('the in-namespace Redis Enterprise operator is the platform\'s: the tenant cannot touch its Deployment, ServiceAccount, Role or RoleBinding', async () => {
      expectRbacDenied(await c.tenant.create(OP.deployments(NS), obj(enterpriseOperatorDeployment())), 'create', 'deployments');
      expectRbacDenied(await c.tenant.get(OP.serviceAccounts(NS, 'redis-enterprise-operator')), 'get', 'serviceaccounts');
      expectRbacDenied(await c.tenant.patch(OP.roles(NS, 'redis-enterprise-operator'), { rules: [] }), 'patch', 'roles');
      expectRbacDenied(await c.tenant.delete(P.roleBindings(NS, 'redis-enterprise-operator')), 'delete', 'rolebindings');
    });

    it('the platform can run the Redis Enterprise operator in the tenant namespace (a non-Redis workload: warnings at most)', async () => {
      const a = await c.admin.create(OP.deployments(NS), obj(enterpriseOperatorDeployment()));
      expectAdmitted(a);
    });

    it('the operator\'s own Pod (as its ReplicaSet would create it) passes Redline\'s review of other pods: restricted Pod Security', async () => {
      const template = enterpriseOperatorDeployment().spec.template;
      // No token controller runs here: the ServiceAccount admission plugin would wait for a token Secret.
      const spec = { ...template.spec, automountServiceAccountToken: false };
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'redis-enterprise-operator-7d9f8-x2x4z', namespace: NS, labels: template.metadata.labels }, spec };
      expectAdmitted(await c.admin.create(P.pods(NS), pod, true));
    });

    it('the controller stamped the Redis Enterprise network policies (premium allows a REC)', async () => {
      const allow = ok(await c.admin.get(OP.networkPolicies(NS, ALLOW_ENTERPRISE)), ALLOW_ENTERPRISE).body;
      expect(allow.spec.podSelector).toEqual({ matchLabels: { app: 'redis-enterprise' } });
      expect(allow.spec.ingress[0]).toEqual({ from: [{ podSelector: {} }] });
      const admission = ok(await c.admin.get(OP.networkPolicies(NS, ALLOW_ENTERPRISE_ADMISSION)), ALLOW_ENTERPRISE_ADMISSION).body;
      expect(admission.spec.podSelector).toEqual({ matchLabels: { name: 'redis-enterprise-operator' } });
      expect(admission.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8443 }]);
      const clients = ok(await c.admin.get(OP.networkPolicies(NS, ALLOW_ENTERPRISE_CLIENTS)), ALLOW_ENTERPRISE_CLIENTS).body;
      expect(clients.spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: { app: 'redis-enterprise' } } }] }]);
      expectRbacDenied(await c.tenant.delete(OP.networkPolicies(NS, ALLOW_ENTERPRISE)), 'delete', 'networkpolicies');
    });
  });

  describe('RedisEnterpriseCluster', () => {
    it('creates the docs\' REC and updates it', async () => {
      expectAdmitted(await c.tenant.create(OP.rec(NS), obj(rec('rec'))));
      const a = await c.tenant.patch(OP.rec(NS, 'rec'), { spec: { extraLabels: { team: 'payments' } } });
      expectAdmitted(a, 200);
      expect(a.body.spec.extraLabels).toEqual({ team: 'payments' });
    });

    it('reads the same REC through v1alpha1', async () => {
      expectAdmitted(await c.tenant.get(OP.rec(NS, 'rec', 'v1alpha1')), 200);
    });

    it('denies a hostPath volume', async () => {
      expectDenied(await c.tenant.create(OP.rec(NS), obj(rec('rec-hostpath', { volumes: [{ name: 'host', hostPath: { path: '/' } }] }))), 'hostPath volumes are not allowed');
    });

    it('denies a privileged side container', async () => {
      const side = { name: 'debug', image: 'busybox:1.36', command: ['sleep', 'infinity'], securityContext: { privileged: true } };
      expectDenied(await c.tenant.create(OP.rec(NS), obj(rec('rec-priv', { sideContainersSpec: [side] }))), 'privileged containers are not allowed');
    });

    it('denies tolerating every taint, on update too', async () => {
      const everything = [{ operator: 'Exists' }];
      expectDenied(await c.tenant.create(OP.rec(NS), obj(rec('rec-tol', { podTolerations: everything }))), 'a toleration the plan does not list');
      expectDenied(await c.tenant.patch(OP.rec(NS, 'rec'), { spec: { podTolerations: everything } }), 'a toleration the plan does not list');
    });

    it('denies running its pods under the in-namespace operator\'s ServiceAccount (its Role reads every Secret and writes RBAC)', async () => {
      const a = await c.tenant.create(OP.rec(NS), obj(rec('rec-sa', { serviceAccountName: 'redis-enterprise-operator' })));
      expectDenied(a, "a pod runs with its service account's token");
      expect(a.message).toContain('serviceAccountName redis-enterprise-operator');
    });

    it('a second REC in the namespace is refused (the operator runs one REC per namespace: quota count 1)', async () => {
      const a = await c.tenant.create(OP.rec(NS), obj(rec('rec-two')));
      expect(a.status, `expected a quota refusal, got HTTP ${a.status}: ${a.message}`).toBe(403);
      expect(a.message).toMatch(/exceeded quota: redline-quota.*count\/redisenterpriseclusters\.app\.redislabs\.com/);
    });
  });

  describe('RedisEnterpriseDatabase', () => {
    it('creates a replicated TLS database on the namespace\'s REC and updates its memory', async () => {
      expectAdmitted(await c.tenant.create(OP.redb(NS), obj(redb('cache', { persistence: 'aofEverySecond' }))));
      expectAdmitted(await c.tenant.patch(OP.redb(NS, 'cache'), { spec: { memorySize: '2GB' } }), 200);
    });

    it('denies more shards than the plan', async () => {
      expectDenied(await c.tenant.create(OP.redb(NS), obj(redb('wide', { shardCount: 99 }))), "99 shards exceed plan premium's limit of 9");
    });

    it('denies naming a REC through another namespace', async () => {
      const a = await c.tenant.create(OP.redb(NS), obj(redb('elsewhere', { redisEnterpriseCluster: { name: 'rec', namespace: FOREIGN_NS } })));
      expectDenied(a, 'a reference into another namespace');
      expect(a.message).toContain(`spec.redisEnterpriseCluster.namespace ${FOREIGN_NS}`);
    });

    it('the tenant reads the database Secret the operator writes for it (owned by the REDB), never one it merely names', async () => {
      const db = ok(await c.tenant.get(OP.redb(NS, 'cache')), 'read redb cache').body;
      // what the operator does: redb-<name>, owned by the REDB
      ok(await c.reOperator.create(P.secrets(NS), {
        apiVersion: 'v1', kind: 'Secret', metadata: { name: 'redb-cache', ownerReferences: [{ apiVersion: db.apiVersion, kind: db.kind, name: 'cache', uid: db.metadata.uid }] },
        stringData: { password: 'x', port: '12000', service_name: 'cache' },
      }), 'operator writes redb-cache');
      await until('the tenant may read redb-cache', async () => (await c.tenant.get(P.secrets(NS, 'redb-cache'))).status === 200, 20_000, 100, () => c.controller.tail());
      // a platform Secret the tenant names in a REDB stays unreadable
      ok(await c.admin.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'platform-registry' }, stringData: { token: 'y' } }), 'platform secret');
      expectAdmitted(await c.tenant.create(OP.redb(NS), obj(redb('named', { databaseSecretName: 'platform-registry', persistence: 'aofEverySecond' }))));
      // A marker the tenant creates afterwards: once it is granted, a reconcile has seen the REDB.
      expectAdmitted(await c.tenant.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'marker-1' }, stringData: { x: '1' } }));
      await until('the tenant may read marker-1', async () => (await c.tenant.get(P.secrets(NS, 'marker-1'))).status === 200, 20_000, 100, () => c.controller.tail());
      expectRbacDenied(await c.tenant.get(P.secrets(NS, 'platform-registry')), 'get', 'secrets');
    });
  });

  describe('RedisEnterpriseActiveActiveDatabase', () => {
    it('creates and updates an Active-Active database', async () => {
      expectAdmitted(await c.tenant.create(OP.reaadb(NS), obj(reaadb('global'))));
      expectAdmitted(await c.tenant.patch(OP.reaadb(NS, 'global'), { spec: { globalConfigurations: { memorySize: '2GB' } } }), 200);
    });

    it('denies more shards than the plan', async () => {
      expectDenied(await c.tenant.create(OP.reaadb(NS), obj(reaadb('wide', { globalConfigurations: { memorySize: '1GB', shardCount: 99 } }))), "99 shards exceed plan premium's limit of 9");
    });
  });

  describe('RedisEnterpriseRemoteCluster', () => {
    it('creates and updates a pointer to the namespace\'s own REC', async () => {
      expectAdmitted(await c.tenant.create(OP.rerc(NS), obj(rerc('rerc-a', NS))));
      expectAdmitted(await c.tenant.patch(OP.rerc(NS, 'rerc-a'), { spec: { apiFqdnUrl: 'api2.example.com' } }), 200);
    });

    it('denies pointing at a REC in another tenant\'s namespace', async () => {
      const a = await c.tenant.create(OP.rerc(NS), obj(rerc('rerc-foreign', FOREIGN_NS)));
      expectDenied(a, 'a reference into another namespace');
      expect(a.message).toContain(`spec.recNamespace ${FOREIGN_NS}`);
    });
  });

  describe('RedisFailover (Spotahome)', () => {
    // It has no TLS settings: plan standard accepts it without TLS (tls.allowKindsWithoutTLS), premium does not.
    it('creates the persistent example with auth on plan standard (a warning: no TLS); updates it; no more sentinels than its operator\'s budget keeps safe', async () => {
      expectAdmitted(await c.tenant.create(P.secrets(NS_STANDARD), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rf-auth' }, stringData: { password: 'a-long-password' } }));
      const created = await c.tenant.create(OP.failover(NS_STANDARD), obj(failover('rf'), NS_STANDARD));
      expectAdmitted(created);
      // plan standard: "accepted without TLS (with a warning)" — never a silent pass
      expect(created.warnings.join('\n'), `admission warnings: ${JSON.stringify(created.warnings)}`).toContain('RedisFailover has no TLS settings');
      // the operator writes its own PodDisruptionBudget, minAvailable 2: with 5 sentinels a drain could take 3
      expectDenied(await c.tenant.patch(OP.failover(NS_STANDARD, 'rf'), { spec: { sentinel: { replicas: 5 } } }), 'minAvailable 2 of 5 pods lets 3 go at once');
      const a = await c.tenant.patch(OP.failover(NS_STANDARD, 'rf'), { metadata: { labels: { team: 'orders' } } });
      expectAdmitted(a, 200);
      expect(a.body.metadata.labels.team).toBe('orders');
      expectAdmitted(await c.tenant.get(P.secrets(NS_STANDARD, 'rf-auth')), 200);
    });

    it('denies it on a plan that requires TLS', async () => {
      expectDenied(await c.tenant.create(OP.failover(NS), obj(failover('rf'))), 'RedisFailover has no TLS settings and plan premium requires TLS');
    });

    it('denies a hostPath volume', async () => {
      expectDenied(await c.tenant.create(OP.failover(NS_STANDARD), obj(failover('rf-host', { extraVolumes: [{ name: 'host', hostPath: { path: '/var/run' } }] }), NS_STANDARD)), 'hostPath volumes are not allowed');
    });

    it('denies a privileged Redis container', async () => {
      const sc = { privileged: true, runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: true, capabilities: { drop: ['ALL'] } };
      expectDenied(await c.tenant.create(OP.failover(NS_STANDARD), obj(failover('rf-priv', { containerSecurityContext: sc }), NS_STANDARD)), 'privileged containers are not allowed');
    });

    it('denies sentinels that tolerate every taint, on update too', async () => {
      expectDenied(await c.tenant.create(OP.failover(NS_STANDARD), obj(failover('rf-tol', {}, { tolerations: [{ operator: 'Exists' }] }), NS_STANDARD)), 'a toleration the plan does not list');
      expectDenied(await c.tenant.patch(OP.failover(NS_STANDARD, 'rf'), { spec: { redis: { tolerations: [{ operator: 'Exists' }] } } }), 'a toleration the plan does not list');
    });

    it('denies more Redis pods than the plan', async () => {
      expectDenied(await c.tenant.create(OP.failover(NS_STANDARD), obj(failover('rf-big', { replicas: 9 }), NS_STANDARD)), "9 pods per shard exceed plan standard's limit of 3");
    });
  });

  describe('ReplicationController running Redis', () => {
    it('a tenant cannot create one (RBAC): workloads are the operators\'', async () => {
      expectRbacDenied(await c.tenant.create(OP.rc(NS), obj(replicationController('legacy'))), 'create', 'replicationcontrollers');
    });

    it('an operator creates the docs\' RC and scales it', async () => {
      expectAdmitted(await c.rcOperator.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'legacy-auth' }, stringData: { password: 'a-long-password' } }));
      expectAdmitted(await c.rcOperator.create(OP.rc(NS), obj(replicationController('legacy'))));
      const a = await c.rcOperator.patch(OP.rc(NS, 'legacy'), { spec: { template: { metadata: { annotations: { rev: '2' } } } } });
      expectAdmitted(a, 200);
    });

    it('denies a hostPath volume', async () => {
      const rc = replicationController('legacy-host', { volumes: [{ name: 'data', hostPath: { path: '/var/lib/redis' } }, { name: 'tls', secret: { secretName: 'legacy-host-tls' } }] });
      expectDenied(await c.rcOperator.create(OP.rc(NS), obj(rc)), 'hostPath volumes are not allowed');
    });

    it('denies a privileged container', async () => {
      const rc = replicationController('legacy-priv', {}, { securityContext: { privileged: true } });
      expectDenied(await c.rcOperator.create(OP.rc(NS), obj(rc)), 'privileged containers are not allowed');
    });

    it('denies tolerating every taint', async () => {
      const rc = replicationController('legacy-tol', { tolerations: [{ operator: 'Exists' }] });
      expectDenied(await c.rcOperator.create(OP.rc(NS), obj(rc)), 'a toleration the plan does not list');
    });
  });
});
