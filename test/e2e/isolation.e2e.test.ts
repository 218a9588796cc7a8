// Tenant isolation (issue 15), tried as a malicious tenant would, against a real etcd +
// kube-apiserver 1.20: the bundle's RBAC (rbac-tenant.yaml bound by a real `redline controller`,
// which stamps each tenant namespace), the shipped webhook configurations pointed at a real
// `redline serve`, a tenant with a token identity in group redline:tenant:acme, and the Redis
// operators as their own service-account identities creating what the operator would. Every
// attack must be refused with a message that says why; the legitimate paths must still work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Quantity } from '../../policies/engine/quantity.js';
import { until } from '../helpers/wait.js';
import { metricSum, type ControllerProcess } from '../bench/bootstrap-harness.js';
import { CONTROLLER_CONFIG, fakeQuotaStatus, startIsolationCluster, TENANT_NAMESPACES, TENANT_USER, tenantNamespace, type IsolationCluster } from './helpers/isolation-cluster.js';
import { type Answer, ok, P } from './helpers/isolation-http.js';
import {
  certificate, container, deployment, kubedbRedis, kubedbWithPodSpec, otOwned, otRedis, otReplication, pdb, pod, podSpec, statefulSet,
} from './helpers/isolation-objects.js';
import { probeOffboarding } from './helpers/isolation-probe.js';

const NS = 'acme-prod'; // plan standard
const FREE = 'acme-free'; // plan free
const OTHER = 'globex-prod'; // another tenant's namespace
const KUBEDB_LABELS = (name: string): Record<string, string> => ({
  'app.kubernetes.io/name': 'redises.kubedb.com', 'app.kubernetes.io/instance': name, 'app.kubernetes.io/managed-by': 'kubedb.com',
});

let w: IsolationCluster;
let noLease: ControllerProcess;

function show(a: Answer): string {
  return `HTTP ${a.status}: ${a.message || JSON.stringify(a.body).slice(0, 400)}`;
}

/** Refused by Redline's validating webhook, with every pattern in the message. */
function refusedByWebhook(a: Answer, ...why: (string | RegExp)[]): void {
  expect(a.status, show(a)).toBe(403);
  expect(a.message).toContain('admission webhook "validate.redline.dev" denied the request');
  for (const p of why) expect(a.message).toMatch(p);
}

function refusedByApiServer(a: Answer, ...why: (string | RegExp)[]): void {
  expect(a.status, show(a)).toBe(403);
  expect(a.message).not.toContain('admission webhook');
  for (const p of why) expect(a.message).toMatch(p);
}

function forbiddenByRbac(a: Answer): void {
  expect(a.status, show(a)).toBe(403);
  expect(a.message).toMatch(new RegExp(`User "${TENANT_USER}" cannot`));
}

function created(a: Answer): Answer {
  expect(a.status, show(a)).toBe(201);
  return a;
}

/** A Pod the KubeDB operator would write for Redis `name` (redis image, kubedb labels), plus `spec` fields. */
function kubedbPod(name: string, spec: Record<string, unknown> = {}, containers = [container('redis', 'redis:7.2.4')]): Record<string, unknown> {
  return pod(NS, name, podSpec(containers, spec), { labels: KUBEDB_LABELS(name) });
}

describe('tenant isolation through a real kube-apiserver 1.20 (issue 15)', () => {
  beforeAll(async () => {
    const t0 = performance.now();
    w = await startIsolationCluster();
    // A second controller whose Lease namespace does not exist: it must say so and stay not-ready.
    noLease = await w.startController('ctrl-no-lease', {
      ...CONTROLLER_CONFIG,
      leaderElection: { ...CONTROLLER_CONFIG.leaderElection, namespace: 'no-such-namespace' },
    });
    console.log(`[isolation e2e] cluster, serve, controller and ${Object.keys(TENANT_NAMESPACES).length} tenant namespaces ready in ${(performance.now() - t0).toFixed(0)} ms`);
  }, 180_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  describe('legitimate paths', () => {
    it('the tenant creates a compliant KubeDB Redis and reads the credentials the operator writes', async () => {
      const redis = created(await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, 'cache', { spec: { authSecret: { name: 'cache-auth' } } })));
      expect(redis.body.spec.tls.issuerRef).toEqual({ apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'redline-redis-ca' });
      // The operator writes the auth Secret the Redis names; the controller lets the tenant read it.
      ok(await w.kubedb.create(P.secrets(NS), {
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
        metadata: { name: 'cache-auth', labels: KUBEDB_LABELS('cache') },
        stringData: { username: 'default', password: 's3cret' },
      }), 'operator writes cache-auth');
      const secret = await until('the tenant may read cache-auth', async () => {
        const a = await w.tenant.get(P.secrets(NS, 'cache-auth'));
        return a.status === 200 && a;
      }, 10_000, 50, () => w.controller.tail());
      expect(Buffer.from(secret.body.data.password, 'base64').toString()).toBe('s3cret');
    });

    it('the tenant gets a server Certificate from its Issuer for its Service and reads the Secret it names', async () => {
      const cert = created(await w.tenant.create(P.certificates(NS), certificate(NS, 'cache-server', {
        dnsNames: [`cache.${NS}.svc`, `cache.${NS}.svc.cluster.local`], usages: ['server auth', 'client auth'],
      })));
      expect(cert.body.spec.issuerRef.name).toBe('redline-redis-ca');
      // cert-manager does not run here: write the Secret it would.
      ok(await w.admin.create(P.secrets(NS), {
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
        metadata: { name: 'cache-server-tls', annotations: { 'cert-manager.io/certificate-name': 'cache-server', 'cert-manager.io/issuer-name': 'redline-redis-ca', 'cert-manager.io/issuer-kind': 'Issuer' } },
        stringData: { 'tls.crt': 'crt', 'tls.key': 'key', 'ca.crt': 'ca' },
      }), 'cache-server-tls');
      await until('the tenant may read cache-server-tls', async () => (await w.tenant.get(P.secrets(NS, 'cache-server-tls'))).status === 200, 10_000, 50, () => w.controller.tail());
    });
  });

  describe('plan limits a tenant could escape', () => {
    it('a limit of 0: refused on a KubeDB Redis by the webhook, on the operator\'s Pod by the LimitRange min', async () => {
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbWithPodSpec(NS, 'zero-mem', { containers: [{ name: 'redis', resources: { limits: { memory: '0', cpu: '500m' } } }] })),
        /a limit or request of 0 means no limit/, /limits\.memory/,
      );
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbWithPodSpec(NS, 'zero-cpu', { containers: [{ name: 'redis', resources: { limits: { memory: '1Gi', cpu: '500m' }, requests: { cpu: '0' } } }] })),
        /a limit or request of 0 means no limit/, /requests\.cpu/,
      );
      // The LimitRanger runs before any webhook: this refusal is the API server's own.
      refusedByApiServer(
        await w.kubedb.create(P.pods(NS), kubedbPod('zero-pod', {}, [container('redis', 'redis:7.2.4', '0', '500m')])),
        /minimum memory usage per Container is 1Mi, but (request|limit) is 0/,
      );
    });

    it('every container running a Redis server counts toward the plan; LimitRange type Pod bounds the whole pod', async () => {
      // An "exporter" image that runs redis-server: 3Gi + 3Gi in one pod, over standard's 4Gi per pod.
      const sts = statefulSet(NS, 'twin', KUBEDB_LABELS('twin'), podSpec([
        container('redis', 'redis:7.2.4', '3Gi', '1'),
        container('exporter', 'oliver006/redis_exporter:v1.62.0', '3Gi', '500m', { command: ['redis-server', '--port', '6380'] }),
      ]));
      refusedByWebhook(await w.kubedb.create(P.statefulSets(NS), sts), /memory limits sum to 6Gi per pod, over plan standard's 4Gi/);

      const limits = ok(await w.admin.get(P.limitRanges(NS, 'redline-limits')), 'LimitRange').body.spec.limits as { type: string; max?: Record<string, string> }[];
      const containerMax = Quantity.parse(limits.find((l) => l.type === 'Container')!.max!['memory']!);
      const podItem = limits.find((l) => l.type === 'Pod');
      expect(podItem, `the stamped LimitRange has a type: Pod item: ${JSON.stringify(limits)}`).toBeDefined();
      const podMax = Quantity.parse(podItem!.max!['memory']!);
      // Containers each at the container max (a real exporter, not a Redis server), together over the pod max.
      const containers = [container('redis', 'redis:7.2.4', containerMax.toString(), '100m')];
      let sum = containerMax;
      for (let i = 0; sum.compareTo(podMax) <= 0; i++) {
        containers.push(container(`sidecar-${i}`, 'oliver006/redis_exporter:v1.62.0', containerMax.toString(), '100m'));
        sum = sum.plus(containerMax);
      }
      refusedByApiServer(await w.kubedb.create(P.pods(NS), kubedbPod('wide', {}, containers)), new RegExp(`maximum memory usage per Pod is ${podItem!.max!['memory']}`));
    });

    it('object counts: the plan\'s quota refuses one Redis object more than count/redises.kubedb.com', async () => {
      const quota = ok(await w.admin.get(P.quotas(FREE, 'redline-quota')), 'quota').body.spec.hard as Record<string, string>;
      for (const kind of ['redises.kubedb.com', 'redissentinels.kubedb.com', 'redis.redis.redis.opstreelabs.in', 'redisclusters.redis.redis.opstreelabs.in',
        'redisreplications.redis.redis.opstreelabs.in', 'redissentinels.redis.redis.opstreelabs.in', 'certificates.cert-manager.io']) {
        expect(quota, `count/${kind} in the free plan's quota`).toHaveProperty(`count/${kind}`);
      }
      const max = Number(quota['count/redises.kubedb.com']);
      expect(max).toBeGreaterThan(0);
      expect(max).toBeLessThan(50);
      const small = { spec: { podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '128Mi', cpu: '100m' } } }] } } } };
      for (let i = 0; i < max; i++) created(await w.tenant.create(P.kubedbRedis(FREE), kubedbRedis(FREE, `r${i}`, small)));
      refusedByApiServer(await w.tenant.create(P.kubedbRedis(FREE), kubedbRedis(FREE, `r${max}`, small)),
        /exceeded quota: redline-quota/, new RegExp(`limited: count/redises\\.kubedb\\.com=${max}`));
    });

    it('scheduling: system-node-critical, nodeName and tolerate-everything are refused on a KubeDB podTemplate, the operator\'s PetSet and Pod', async () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['prio', { priorityClassName: 'system-node-critical' }, /system-\* priority classes preempt other tenants' pods.*priorityClassName system-node-critical/s],
        ['node', { nodeName: 'node-1' }, /nodeName bypasses the scheduler.*nodeName node-1/s],
        ['tol', { tolerations: [{ operator: 'Exists' }] }, /a toleration the plan does not list.*\{operator: Exists\} \(tolerates every taint\)/s],
      ];
      // Only what the plan lists (standard lists no priority class).
      refusedByWebhook(await w.tenant.create(P.kubedbRedis(NS), kubedbWithPodSpec(NS, 'sched-gold', { priorityClassName: 'gold' })), /plan standard allows no priority class.*priorityClassName gold/s);
      for (const [name, spec, why] of cases) {
        refusedByWebhook(await w.tenant.create(P.kubedbRedis(NS), kubedbWithPodSpec(NS, `sched-${name}`, spec)), why);
        refusedByWebhook(await w.kubedb.create(P.pods(NS), kubedbPod(`sched-${name}`, spec)), why);
        const petSet = { ...statefulSet(NS, `sched-${name}`, KUBEDB_LABELS(`sched-${name}`), podSpec([container('redis', 'redis:7.2.4')], spec)), apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet' };
        refusedByWebhook(await w.kubedb.create(P.petSets(NS), petSet), why);
      }
    });

    it('service templates: externalIPs are refused, and type NodePort on the free plan', async () => {
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, 'svc-ext', { spec: { serviceTemplates: [{ alias: 'primary', spec: { externalIPs: ['203.0.113.7'] } }] } })),
        /CVE-2020-8554/, /externalIPs 203\.0\.113\.7/,
      );
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(FREE), kubedbRedis(FREE, 'svc-np', { spec: {
          serviceTemplates: [{ alias: 'primary', spec: { type: 'NodePort' } }],
          podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '128Mi', cpu: '100m' } } }] } },
        } })),
        /plan free allows Services of type ClusterIP/, /type NodePort/,
      );
    });

    it('cross-namespace references: KubeDB init.archiver and sentinelRef into another namespace are refused', async () => {
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, 'xns-archiver', { spec: { init: { archiver: {
          encryptionSecret: { name: 'restic', namespace: OTHER }, fullDBRepository: { name: 'repo', namespace: OTHER },
        } } } })),
        /a reference into another namespace/, new RegExp(`spec\\.init\\.archiver\\.encryptionSecret\\.namespace ${OTHER}`), /fullDBRepository\.namespace/,
      );
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, 'xns-sentinel', { spec: { mode: 'Sentinel', replicas: 3, sentinelRef: { name: 'sentinel', namespace: OTHER } } })),
        /a reference into another namespace/, new RegExp(`spec\\.sentinelRef\\.namespace ${OTHER}`),
      );
    });

    it('OT-Container-Kit: hostPort and a hostPath / volume are refused at the CR; the operator\'s StatefulSet and Pod with a renamed image too', async () => {
      refusedByWebhook(await w.tenant.create(P.otRedis(NS), otRedis(NS, 'ot-hostport', { spec: { hostPort: 6379 } })), /host ports are not allowed/);
      const hostRoot = { volume: [{ name: 'host', hostPath: { path: '/' } }], mountPath: [{ name: 'host', mountPath: '/host' }] };
      refusedByWebhook(await w.tenant.create(P.otRedis(NS), otRedis(NS, 'ot-hostpath', { spec: { storage: { volumeMount: hostRoot } } })), /hostPath volumes are not allowed/);

      // What the operator would write for a Redis whose image is not named redis: recognised by
      // OT's labels and owner reference, so refused (not merely warned about as a non-Redis workload).
      const { labels, ownerReferences } = otOwned('keyval');
      const spec = podSpec([container('keyval', 'registry.example.com/team/keyval-server:7.2', '1Gi', '500m', { volumeMounts: [{ name: 'host', mountPath: '/host' }] })], {
        volumes: [{ name: 'host', hostPath: { path: '/' } }],
      });
      const sts = statefulSet(NS, 'keyval', labels, spec, { ownerReferences });
      const stsAnswer = await w.ot.create(P.statefulSets(NS), sts);
      refusedByWebhook(stsAnswer, /hostPath volumes are not allowed/);
      const podAnswer = await w.ot.create(P.pods(NS), pod(NS, 'keyval-0', spec, { labels, ownerReferences: [{ ...ownerReferences[0], apiVersion: 'apps/v1', kind: 'StatefulSet' }] }));
      refusedByWebhook(podAnswer, /hostPath volumes are not allowed/);
    });

    it('pod security: a busybox Pod as root with hostPID is refused; a privileged non-Redis Deployment is admitted with a warning', async () => {
      const rootPod = (name: string, image: string): Record<string, unknown> => pod(NS, name, {
        automountServiceAccountToken: false,
        hostPID: true,
        containers: [{ name: 'sh', image, command: ['sleep', '3600'], securityContext: { runAsUser: 0 }, resources: { limits: { memory: '64Mi', cpu: '100m' } } }],
      });
      refusedByWebhook(await w.kubedb.create(P.pods(NS), rootPod('debug', 'busybox:1.36')), /host namespaces are not allowed/);
      // Whatever the image: renamed servers and tools around Redis are reviewed the same way.
      const images = { keydb: 'eqalpha/keydb:x86_64_v6.3.4', dragonfly: 'docker.dragonflydb.io/dragonflydb/dragonfly:v1.21.2', exporter: 'oliver006/redis_exporter:v1.62.0' };
      for (const [name, image] of Object.entries(images)) {
        refusedByWebhook(await w.kubedb.create(P.pods(NS), rootPod(`root-${name}`, image)), /host namespaces are not allowed/);
      }

      const web = deployment(NS, 'web', { app: 'web' }, {
        automountServiceAccountToken: false,
        containers: [{ name: 'nginx', image: 'nginx:1.25', securityContext: { privileged: true }, resources: { limits: { memory: '64Mi', cpu: '100m' } } }],
      });
      const admitted = created(await w.kubedb.create(P.deployments(NS), web));
      expect(admitted.warnings.join('\n')).toMatch(/privileged containers are not allowed/);
    });

    it('drain-blocking PDBs: a one-pod OT object with pdb.maxUnavailable 0, and a PDB selecting with matchExpressions In [redis, x]', async () => {
      refusedByWebhook(
        await w.tenant.create(P.otReplication(NS), otReplication(NS, 'frozen', { spec: { clusterSize: 1, pdb: { enabled: true, maxUnavailable: 0 } } })),
        /would allow no disruption and block node drains/,
      );
      // The PDB the OT operator would then write for it.
      refusedByWebhook(
        await w.ot.create(P.pdbs(NS), pdb(NS, 'frozen-pdb', { maxUnavailable: 0, selector: { matchLabels: { app: 'frozen', redis_setup_type: 'replication' } } }, {
          labels: { app: 'frozen', redis_setup_type: 'replication' },
          ownerReferences: [{ apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisReplication', name: 'frozen', uid: '4a1f7c9e-2b3d-4c5e-8f6a-7b8c9d0e1f2a', controller: true }],
        })),
        /PodDisruptionBudget frozen-pdb allows no disruption and blocks node drains/,
      );
      refusedByWebhook(
        await w.kubedb.create(P.pdbs(NS), pdb(NS, 'frozen-expr', { maxUnavailable: 0, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['redis', 'x'] }] } })),
        /PodDisruptionBudget frozen-expr allows no disruption and blocks node drains/,
      );
    });
  });

  describe('TLS a tenant could point anywhere', () => {
    it('KubeDB issuerRef to the platform ClusterIssuer, or a certificate\'s issuerRef to another Issuer, is refused', async () => {
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, 'tls-platform', { spec: { tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'ClusterIssuer', name: 'redline-platform-ca' } } } })),
        /ClusterIssuer redline-platform-ca/, /name: redline-redis-ca/,
      );
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, 'tls-other', { spec: { tls: {
          issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'redline-redis-ca' },
          certificates: [{ alias: 'server', issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'selfsigned' } }],
        } } })),
        /spec\.tls\.certificates\[0\]\.issuerRef/, /Issuer selfsigned/,
      );
    });

    it('tenant Certificates: a CA, another namespace\'s names, an IP SAN, or the CA Secret as target are refused', async () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['ca', { isCA: true, commonName: `ca.${NS}.svc` }, /must not be a CA/],
        ['foreign', { dnsNames: [`*.${OTHER}.svc`] }, new RegExp(`may name only this namespace's Services.*\\*\\.${OTHER}\\.svc|\\*\\.${OTHER}\\.svc.*may name only`, 's')],
        ['ip', { dnsNames: [`cache.${NS}.svc`], ipAddresses: ['10.0.0.15'] }, /cannot prove that an IP address.*10\.0\.0\.15/s],
        ['ca-thief', { dnsNames: [`cache.${NS}.svc`], secretName: 'redline-tenant-ca' }, /secretName redline-tenant-ca is the namespace's CA Secret/],
        ['platform', { dnsNames: [`cache.${NS}.svc`], issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'redline-platform-ca' } }, /not ClusterIssuer redline-platform-ca/],
      ];
      for (const [name, spec, why] of cases) refusedByWebhook(await w.tenant.create(P.certificates(NS), certificate(NS, `bad-${name}`, spec)), why);
    });

    it('no workload may mount the tenant CA Secret', async () => {
      const spec = { volumes: [{ name: 'ca', secret: { secretName: 'redline-tenant-ca' } }] };
      const c = container('redis', 'redis:7.2.4', '1Gi', '500m', { volumeMounts: [{ name: 'ca', mountPath: '/tls' }] });
      refusedByWebhook(await w.kubedb.create(P.pods(NS), kubedbPod('ca-mount', spec, [c])), /Secret redline-tenant-ca holds the namespace's CA key/);
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, 'ca-cert', { spec: { tls: { certificates: [{ alias: 'server', secretName: 'redline-tenant-ca' }] } } })),
        /Secret redline-tenant-ca holds the namespace's CA key/,
      );
    });
  });

  describe('secrets', () => {
    it('the tenant reads exactly the Secrets its Redis objects use and the ones it created', async () => {
      // Secrets of the platform: the tenant CA (cert-manager would write it), a stronger account's
      // token (the token controller would fill it), and credentials of another team (not written
      // by a Redis operator, cert-manager or the tenant).
      ok(await w.admin.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'redline-tenant-ca' }, stringData: { 'tls.crt': 'crt', 'tls.key': 'KEY', 'ca.crt': 'ca' } }), 'redline-tenant-ca');
      ok(await w.admin.create(P.serviceAccounts(NS), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' } }), 'builder SA');
      ok(await w.admin.create(P.secrets(NS), {
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
        metadata: { name: 'builder-token', annotations: { 'kubernetes.io/service-account.name': 'builder' } },
      }), 'builder-token');
      ok(await w.kubedb.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'billing-auth' }, stringData: { password: 'x' } }), 'billing-auth');
      // Trying to make the controller grant them: Redis objects naming them as their auth Secret.
      for (const [name, secret] of [['sneaky', 'builder-token'], ['sneaky-billing', 'billing-auth']]) {
        const sneaky = await w.tenant.create(P.kubedbRedis(NS), kubedbRedis(NS, name!, { spec: { authSecret: { name: secret } } }));
        expect([201, 403], show(sneaky)).toContain(sneaky.status);
      }

      // A Secret of its own: created, then readable.
      created(await w.tenant.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-config' }, stringData: { url: 'rediss://cache' } }));
      const mine = await until('the tenant may read app-config', async () => {
        const a = await w.tenant.get(P.secrets(NS, 'app-config'));
        return a.status === 200 && a;
      }, 10_000, 50, () => w.controller.tail());
      expect(Buffer.from(mine.body.data.url, 'base64').toString()).toBe('rediss://cache');
      expect(mine.body.metadata.labels?.['redline.dev/tenant-secret']).toBe('true');

      // The controller has seen every object of the namespace by now: nothing else is readable.
      forbiddenByRbac(await w.tenant.get(P.secrets(NS)));
      for (const name of ['redline-tenant-ca', 'builder-token', 'billing-auth']) forbiddenByRbac(await w.tenant.get(P.secrets(NS, name)));
      // Nor can it mint a token Secret.
      refusedByWebhook(
        await w.tenant.create(P.secrets(NS), {
          apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
          metadata: { name: 'my-token', annotations: { 'kubernetes.io/service-account.name': 'builder' } },
        }),
        /Secrets of type kubernetes\.io\/service-account-token may only be written by Redline admins/,
      );
      const role = ok(await w.admin.get(P.roles(NS, 'redline-tenant-secrets')), 'redline-tenant-secrets Role').body;
      const granted = (role.rules as { resourceNames?: string[] }[]).flatMap((r) => r.resourceNames ?? []);
      expect(granted).toEqual(expect.arrayContaining(['cache-auth', 'cache-server-tls', 'app-config']));
      for (const name of ['redline-tenant-ca', 'builder-token', 'billing-auth']) expect(granted).not.toContain(name);
    });
  });

  describe('found by a red-team pass', () => {
    it('a Redis object naming another service account (whose token its pod log would show) is refused', async () => {
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbWithPodSpec(NS, 'borrowed-sa', { serviceAccountName: 'redis-enterprise-operator' })),
        /naming another account gives its rights to the tenant/, /serviceAccountName redis-enterprise-operator/,
      );
    });

    it('pod affinity over every namespace is refused; the tenant cannot plant the CA Secret before cert-manager writes it', async () => {
      refusedByWebhook(
        await w.tenant.create(P.kubedbRedis(NS), kubedbWithPodSpec(NS, 'zone-blocker', {
          affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'topology.kubernetes.io/zone', namespaceSelector: {}, labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } },
          ] } },
        })),
        /a reference into another namespace/, /namespaceSelector \*/,
      );
      // acme-free has no redline-tenant-ca yet (cert-manager is off in this suite's controller)
      refusedByWebhook(
        await w.tenant.create(P.secrets(FREE), { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'redline-tenant-ca' }, stringData: { 'tls.crt': 'mine', 'tls.key': 'mine' } }),
        /redline-tenant-ca is where cert-manager writes the namespace's CA/,
      );
    });
  });

  describe('namespace labels and identity', () => {
    it('a non-admin cannot change redline.dev/plan through namespaces/status or namespaces/finalize', async () => {
      const ns = ok(await w.nsEditor.get(P.namespaces(NS)), 'ops-intern reads the namespace').body;
      const upgraded = { ...ns, metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, 'redline.dev/plan': 'premium' } } };
      const viaStatus = await w.nsEditor.put(P.namespaces(NS, 'status'), upgraded);
      expect(viaStatus.status, show(viaStatus)).toBe(403);
      expect(viaStatus.message).toMatch(/admission webhook "namespaces\.redline\.dev" denied the request/);
      expect(viaStatus.message).toMatch(/redline\.dev\/plan \(changed\)/);
      const viaPatch = await w.nsEditor.patch(`${P.namespaces(NS, 'status')}`, { metadata: { labels: { 'redline.dev/plan': 'premium' } } });
      expect(viaPatch.status, show(viaPatch)).toBe(403);
      const viaFinalize = await w.nsEditor.put(P.namespaces(NS, 'finalize'), upgraded);
      expect(viaFinalize.status, show(viaFinalize)).toBe(403);
      expect(viaFinalize.message).toMatch(/redline\.dev\/plan \(changed\)/);
      expect(ok(await w.admin.get(P.namespaces(NS)), 'read').body.metadata.labels['redline.dev/plan']).toBe('standard');
    });

    it('kubernetes.io/metadata.name must equal the namespace\'s name', async () => {
      const sneaky = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sneaky', labels: { 'kubernetes.io/metadata.name': 'kube-system' } } };
      const byEditor = await w.nsEditor.create(P.namespaces(), sneaky);
      expect(byEditor.status, show(byEditor)).toBe(403);
      expect(byEditor.message).toMatch(/kubernetes\.io\/metadata\.name/);
      expect(byEditor.message).toMatch(/sneaky/);
      // Nobody may, admins included: webhooks and NetworkPolicies select namespaces by this label.
      const byAdmin = await w.admin.create(P.namespaces(), { ...sneaky, metadata: { ...sneaky.metadata, name: 'sneaky-admin' } });
      expect(byAdmin.status, show(byAdmin)).toBe(403);
      expect(byAdmin.message).toMatch(/kubernetes\.io\/metadata\.name/);
      // …nor relabel an existing namespace as the monitoring namespace the tenants' NetworkPolicies let in.
      const relabel = await w.nsEditor.patch(P.namespaces(NS), { metadata: { labels: { 'kubernetes.io/metadata.name': 'monitoring' } } });
      expect(relabel.status, show(relabel)).toBe(403);
      expect(relabel.message).toMatch(/kubernetes\.io\/metadata\.name/);
      expect(ok(await w.admin.get(P.namespaces(NS)), 'read').body.metadata.labels['kubernetes.io/metadata.name']).toBe(NS);
    });

    it('a non-admin cannot put redline.dev/plan on a plain namespace (labels set before onboarding)', async () => {
      ok(await w.admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain-ns', labels: { 'kubernetes.io/metadata.name': 'plain-ns' } } }), 'plain-ns');
      const a = await w.nsEditor.patch(P.namespaces('plain-ns'), { metadata: { labels: { 'redline.dev/plan': 'premium' } } });
      expect(a.status, show(a)).toBe(403);
      expect(a.message).toMatch(/redline\.dev\/plan \(added\)/);
      const b = await w.nsEditor.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pre-planned', labels: { 'redline.dev/plan': 'premium' } } });
      expect(b.status, show(b)).toBe(403);
      expect(b.message).toMatch(/redline\.dev\/plan \(added\)/);
    });

    it('pod-security enforce: privileged set before onboarding ends up restricted once the namespace is a tenant\'s', async () => {
      ok(await w.admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'legacy', labels: { 'kubernetes.io/metadata.name': 'legacy', 'pod-security.kubernetes.io/enforce': 'privileged' } } }), 'legacy');
      ok(await w.admin.patch(P.namespaces('legacy'), { metadata: { labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' } } }), 'onboard legacy');
      await until('legacy/redline-quota', async () => (await w.admin.get(P.quotas('legacy', 'redline-quota'))).status === 200, 10_000, 20, () => w.controller.tail());
      await fakeQuotaStatus(w.admin, 'legacy');
      await until('legacy enforce=restricted', async () => (await w.admin.get(P.namespaces('legacy'))).body.metadata.labels['pod-security.kubernetes.io/enforce'] === 'restricted',
        10_000, 50, () => w.controller.tail());
    });
  });

  describe('offboarding and the controller', () => {
    it('offboarding (delete): tenant access ends before enforcement does', async () => {
      const ns = 'acme-leaving';
      const result = await probeOffboarding({
        tenant: w.tenant, admin: w.admin, ns, timeoutMs: 15_000, detail: () => w.controller.tail(),
        offboard: async () => void ok(await w.admin.patch(P.namespaces(ns), { metadata: { labels: { 'redline.dev/tenant': null } } }), 'offboard'),
      });
      console.log(`[isolation e2e] offboarding ${ns}: ${JSON.stringify(result.counts)} over ${result.total} tenant writes`);
      expect(result.counts.admitted, JSON.stringify(result.first)).toBe(0);
      expect(result.counts.other, JSON.stringify(result.first)).toBe(0);
      expect(result.lastWebhook).toBeLessThan(result.firstRbac);
      expect((await w.admin.get(P.roleBindings(ns, 'redline-tenant'))).status).toBe(404);
      expect((await w.admin.get(P.roleBindings(ns, 'redline-tenant-secrets'))).status).toBe(404);
    });

    it('a controller whose Lease namespace does not exist logs the error and stays not ready', async () => {
      const line = await until('an error about the Lease in the log', () => (noLease.exited() ? 'exited' : noLease.tail(200).split('\n').find((l) => l.includes('"level":50') && /Lease/.test(l))), 15_000, 50, () => noLease.tail());
      expect(line, `the controller exited instead of waiting:\n${noLease.tail()}`).not.toBe('exited');
      const logged = JSON.parse(line) as { reason: string; msg: string };
      expect(logged.reason).toBe('namespace_missing');
      expect(logged.msg).toMatch(/namespace "no-such-namespace" does not exist: create it/);
      const ready = await noLease.http('/readyz');
      expect(ready.status, ready.body).not.toBe(200);
      const metrics = await noLease.metrics();
      expect(metricSum(metrics, 'redline_controller_lease_errors_total', { reason: 'namespace_missing' })).toBeGreaterThan(0);
      expect(metricSum(metrics, 'redline_controller_is_leader')).toBe(0);
      expect(noLease.exited()).toBe(false);
    });

    it('offboarding (orphan): the RoleBinding goes too, access ends before enforcement, the orphaned objects stay', async () => {
      let t = performance.now();
      expect(await w.controller.stop('SIGTERM')).toBe(0);
      const stopMs = performance.now() - t;
      t = performance.now();
      const orphan = await w.startController('ctrl-orphan', { ...CONTROLLER_CONFIG, offboarding: 'orphan', leaderElection: { ...CONTROLLER_CONFIG.leaderElection, enabled: false } });
      await orphan.waitReady();
      console.log(`[isolation e2e] main controller stopped in ${stopMs.toFixed(0)} ms; orphan-mode controller ready in ${(performance.now() - t).toFixed(0)} ms`);
      const ns = 'acme-orphan';
      const result = await probeOffboarding({
        tenant: w.tenant, admin: w.admin, ns, timeoutMs: 15_000, detail: () => orphan.tail(),
        offboard: async () => void ok(await w.admin.patch(P.namespaces(ns), { metadata: { labels: { 'redline.dev/tenant': null } } }), 'offboard'),
      });
      console.log(`[isolation e2e] offboarding ${ns} (orphan): ${JSON.stringify(result.counts)} over ${result.total} tenant writes`);
      expect(result.counts.admitted, JSON.stringify(result.first)).toBe(0);
      expect(result.counts.other, JSON.stringify(result.first)).toBe(0);
      expect(result.lastWebhook).toBeLessThan(result.firstRbac);
      expect((await w.admin.get(P.roleBindings(ns, 'redline-tenant'))).status).toBe(404);
      const quota = await w.admin.get(P.quotas(ns, 'redline-quota'));
      expect(quota.status, 'orphan mode keeps the quota').toBe(200);
      forbiddenByRbac(await w.tenant.get(P.kubedbRedis(ns)));
      await orphan.stop('SIGTERM');
    });

    it('with certManager enabled the controller stamps the tenant CA Certificate and Issuer past the webhook', async () => {
      const ctrl = await w.startController('ctrl-certs', { ...CONTROLLER_CONFIG, certManager: { enabled: true }, leaderElection: { ...CONTROLLER_CONFIG.leaderElection, enabled: false } });
      await ctrl.waitReady();
      const ns = 'acme-tls';
      ok(await w.admin.create(P.namespaces(), tenantNamespace(ns, 'acme', 'standard')), ns);
      await until(`${ns}/redline-quota`, async () => (await w.admin.get(P.quotas(ns, 'redline-quota'))).status === 200, 10_000, 20, () => ctrl.tail());
      await fakeQuotaStatus(w.admin, ns);
      await w.waitStamped(ns, 10_000, ctrl);
      const ca = ok(await w.admin.get(P.certificates(ns, 'redline-tenant-ca')), 'tenant CA Certificate').body;
      expect(ca.spec.isCA).toBe(true);
      expect(ca.spec.issuerRef).toEqual({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'redline-platform-ca' });
      ok(await w.admin.get(P.issuers(ns, 'redline-redis-ca')), 'tenant Issuer');
      // What the controller may write, the tenant may not: neither a copy nor an edit of the CA Certificate.
      refusedByWebhook(await w.tenant.create(P.certificates(ns), certificate(ns, 'my-ca', { isCA: true, commonName: 'x', issuerRef: ca.spec.issuerRef })), /must not be a CA/);
      refusedByWebhook(await w.tenant.patch(P.certificates(ns, 'redline-tenant-ca'), { spec: { dnsNames: [`*.${OTHER}.svc`] } }), /must not be a CA|may name only/);
    });
  });
});
