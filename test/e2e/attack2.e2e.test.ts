// A second red-team pass as tenant "acme" (token users in group redline:tenant:acme, the bundle's
// ClusterRole redline-tenant in its namespaces) against a real kube-apiserver 1.20 with the shipped
// webhook configurations pointed at a real `redline serve` (helpers/ledger-cluster.ts, plan
// standard). Its subject: settings the operators (or their images) apply from places Redline does
// not read, which switch off authentication or persistence:
//   - a credentials Secret the tenant creates itself with an empty password: every operator here
//     takes "" as "no password" (OT's image entrypoint, Spotahome's generateRedisConfigMap, Redis
//     Enterprise's databaseSecretName);
//   - OT-Container-Kit's image reads DATA_DIR and EXTERNAL_CONFIG_FILE from the environment, which
//     spec.env sets: the data directory off the claim, or a config file of the tenant's included last;
//   - an OT RedisCluster with storage but without persistenceEnabled: true (the claim is made, never mounted);
//   - Spotahome's customConfig "save " (CONFIG SET save "": no snapshot at all);
//   - a RedisEnterpriseDatabase whose persistence is absent or "disabled" (the operator's default).
// Each of these was admitted before the fixes that came with this file. Each has a control next to
// it: the same object with the value Redline always judged right.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, ok, P } from './helpers/isolation-http.js';
import { inNs, refusedByWebhook, show } from './helpers/red-team.js';
import { NAMESPACES, TENANT, redis, startLedgerCluster, tenantNamespaceWithRole, type LedgerCluster } from './helpers/ledger-cluster.js';
import { waitJudged } from './helpers/tenant-namespaces.js';
import { certificate, otRedis } from './helpers/isolation-objects.js';
import { startIsolationCluster, TENANT_USER, type IsolationCluster } from './helpers/isolation-cluster.js';
import { until } from '../helpers/wait.js';
import { OP, failover, redb } from './helpers/operators-objects.js';

let w: LedgerCluster;
const [A, B] = NAMESPACES;
/** A third namespace of the tenant's on plan premium, the plan that sells mode Cluster. */
const PREMIUM = 'acme-p';
const otClusters = (ns: string): string => `/apis/redis.redis.opstreelabs.in/v1beta2/namespaces/${ns}/redisclusters`;

/** manifests/examples/good/ot-cluster.yaml, sized down, in the premium namespace. */
function otCluster(name: string, persistenceEnabled?: boolean): Record<string, unknown> {
  return {
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2',
    kind: 'RedisCluster',
    metadata: { name, namespace: PREMIUM },
    spec: {
      clusterSize: 3,
      clusterVersion: 'v7',
      ...(persistenceEnabled === undefined ? {} : { persistenceEnabled }),
      kubernetesConfig: {
        image: 'quay.io/opstree/redis:v7.0.15',
        imagePullPolicy: 'IfNotPresent',
        redisSecret: { name: `${name}-auth`, key: 'password' },
        resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      },
      podSecurityContext: { runAsUser: 1000, fsGroup: 1000 },
      TLS: { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', secret: { secretName: `${name}-tls` } },
      storage: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } } },
    },
  };
}

/** Refused for persistence, or admitted only as mutated to persistenceEnabled: true (the claim mounted). */
function clusterClaimMounted(a: Answer): void {
  refusedByWebhook(a, /persistence\.durable-storage: spec\.persistenceEnabled is not true/);
}

function admitted(a: Answer): void {
  expect(a.status, show(a)).toBe(201);
}

/** The tenant's own Secret (tenants may create Secrets: their credentials). */
async function tenantSecret(ns: string, name: string, data: Record<string, string>): Promise<Answer> {
  return w.tenants[0]!.create(P.secrets(ns), { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data });
}

/**
 * A workload whose password Secret holds "" must not get past Redline: either the Secret or the
 * object referencing it is refused (Redline sees both; only together do they turn auth off).
 */
async function emptyPasswordRefused(ns: string, secret: string, create: () => Promise<Answer>): Promise<void> {
  const s = await tenantSecret(ns, secret, { password: '' });
  const o = await create();
  const bothIn = s.status === 201 && o.status === 201;
  expect(bothIn, `Secret ${secret} {password: ""}: ${show(s)}; object: ${show(o)}`).toBe(false);
}

describe('red team 2: settings the operators apply from where Redline does not look', () => {
  beforeAll(async () => {
    w = await startLedgerCluster({ replicas: 1 });
    await tenantNamespaceWithRole(w.admin, PREMIUM, TENANT, 'premium');
    await waitJudged(w.admin, [PREMIUM], w.replicas[0]!);
  }, 180_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  describe('a password Secret of the tenant\'s holding an empty password', () => {
    // OT: the operator sets REDIS_PASSWORD from kubernetesConfig.redisSecret
    // (pkg/k8sutils/statefulset.go getEnvironmentVariables); the image's entrypoint.sh
    // set_redis_password writes requirepass only when REDIS_PASSWORD is non-empty, else
    // "protected-mode no".
    const ot = (name: string): Record<string, unknown> => otRedis(B, name, {
      spec: { kubernetesConfig: { redisSecret: { name: `${name}-auth`, key: 'password' } } },
    });

    it('control: an OT Redis whose redisSecret holds a password is admitted', async () => {
      ok(await tenantSecret(B, 'ot-pw-auth', { password: 'a-long-password' }), 'Secret');
      admitted(await w.tenants[0]!.create(P.otRedis(B), ot('ot-pw'), true));
    });

    it('an OT Redis whose redisSecret holds "" (entrypoint: no requirepass, protected-mode no) is refused', async () => {
      await emptyPasswordRefused(B, 'ot-empty-auth', () => w.tenants[0]!.create(P.otRedis(B), ot('ot-empty'), true));
    });

    // Spotahome: generateRedisConfigMap (operator/redisfailover/service/generator.go) appends
    // masterauth/requirepass only `if password != ""`.
    it('control: a RedisFailover whose auth.secretPath holds a password is admitted', async () => {
      ok(await tenantSecret(A, 'rf-pw-auth', { password: 'a-long-password' }), 'Secret');
      admitted(await w.tenants[0]!.create(OP.failover(A), inNs(failover('rf-pw'), A), true));
    });

    it('a RedisFailover whose auth.secretPath holds "" (no requirepass in redis.conf) is refused', async () => {
      await emptyPasswordRefused(A, 'rf-empty-auth', () => w.tenants[0]!.create(OP.failover(A), inNs(failover('rf-empty'), A), true));
    });

    // Redis Enterprise: REDB spec.databaseSecretName — "Use an empty string as value within the
    // secret to disable authentication for the database" (redb_crd.yaml / redis_enterprise_database_api.md).
    it('control: a RedisEnterpriseDatabase with the operator-generated password Secret is admitted', async () => {
      admitted(await w.tenants[0]!.create(OP.redb(A), inNs(redb('db-generated', { persistence: 'aofEverySecond' }), A), true));
    });

    it('a RedisEnterpriseDatabase whose databaseSecretName holds "" (authentication disabled) is refused', async () => {
      await emptyPasswordRefused(A, 'db-empty-auth', () => w.tenants[0]!.create(
        OP.redb(A), inNs(redb('db-empty', { persistence: 'aofEverySecond', databaseSecretName: 'db-empty-auth' }), A), true,
      ));
    });
  });

  describe('OT-Container-Kit: spec.env sets what the image\'s entrypoint reads', () => {
    // entrypoint.sh (OT-CONTAINER-KIT/redis) persistence_setup writes `dir "${DATA_DIR}"` (default
    // /data); the operator mounts the claim at /data (getVolumeMount) and appends spec.env to the
    // container's env (getEnvironmentVariables). DATA_DIR=/tmp puts every snapshot and AOF on the
    // container's own filesystem, while the claim stays mounted and empty.
    it('control: an OT Redis with a claim is admitted', async () => {
      admitted(await w.tenants[0]!.create(P.otRedis(B), otRedis(B, 'ot-claim', {
        spec: { kubernetesConfig: { redisSecret: { name: 'ot-pw-auth', key: 'password' } } },
      }), true));
    });

    it('control: an OT Redis without a volumeClaimTemplate is refused (its data is lost with the pod)', async () => {
      const body = otRedis(B, 'ot-nostorage', { spec: { kubernetesConfig: { redisSecret: { name: 'ot-pw-auth', key: 'password' } } } }) as any;
      delete body.spec.storage;
      refusedByWebhook(await w.tenants[0]!.create(P.otRedis(B), body, true), /persistence\.durable-storage/);
    });

    it('an OT Redis with a claim but spec.env DATA_DIR=/tmp (the data off the claim) is refused', async () => {
      const body = otRedis(B, 'ot-tmpdir', {
        spec: { kubernetesConfig: { redisSecret: { name: 'ot-pw-auth', key: 'password' } }, env: [{ name: 'DATA_DIR', value: '/tmp' }] },
      });
      refusedByWebhook(await w.tenants[0]!.create(P.otRedis(B), body, true), /DATA_DIR|persistence/);
    });

    // entrypoint.sh: `if [[ -f "${EXTERNAL_CONFIG_FILE}" ]]; then external_config; fi` appends
    // `include ${EXTERNAL_CONFIG_FILE}` after requirepass, the TLS lines and the persistence lines,
    // so its `requirepass ""`, `port 6379` / `tls-port 0` or `save ""` win. The file is the
    // tenant's: its own Secret mounted through spec.storage.volumeMount.
    const mounted = (name: string, env: unknown[]): Record<string, unknown> => otRedis(B, name, {
      spec: {
        kubernetesConfig: { redisSecret: { name: 'ot-conf-auth', key: 'password' } },
        env,
        storage: {
          volumeMount: {
            volume: [{ name: 'extra', secret: { secretName: 'ot-extra-conf' } }],
            mountPath: [{ name: 'extra', mountPath: '/etc/extra' }],
          },
        },
      },
    });

    it('control: the OT Redis with its own Secret mounted, no EXTERNAL_CONFIG_FILE, is admitted without an authentication warning', async () => {
      ok(await tenantSecret(B, 'ot-conf-auth', { password: 'a-long-password' }), 'auth Secret');
      ok(await tenantSecret(B, 'ot-extra-conf', { 'redis.conf': 'requirepass ""\nport 6379\ntls-port 0\nsave ""\n' }), 'config Secret');
      const a = await w.tenants[0]!.create(P.otRedis(B), mounted('ot-conf-ok', []), true);
      admitted(a);
      expect(a.warnings.join('\n')).not.toMatch(/authentication|password/i);
    });

    it('spec.env EXTERNAL_CONFIG_FILE naming a file of the tenant\'s (included after requirepass) is refused', async () => {
      const a = await w.tenants[0]!.create(P.otRedis(B), mounted('ot-conf', [{ name: 'EXTERNAL_CONFIG_FILE', value: '/etc/extra/redis.conf' }]), true);
      refusedByWebhook(a, /authentication\.auth-enabled: .*spec\.env EXTERNAL_CONFIG_FILE includes a file/);
    });
  });

  describe('OT-Container-Kit RedisCluster: a claim the operator does not mount', () => {
    // generateRedisClusterContainerParams (pkg/k8sutils/redis-cluster.go) sets PersistenceEnabled
    // only for `spec.storage != nil && spec.persistenceEnabled == true`; getVolumeMount
    // (statefulset.go) mounts the claim at /data only when PersistenceEnabled is true, and without
    // PERSISTENCE_ENABLED the image's entrypoint writes no dir/save/appendonly. The claims are made
    // (volumeClaimTemplates) but the data is written inside the container.
    it('control: a RedisCluster with storage and persistenceEnabled: true is admitted', async () => {
      admitted(await w.tenants[0]!.create(otClusters(PREMIUM), otCluster('rc-durable', true), true));
    });

    it('a RedisCluster with storage but no persistenceEnabled (the claim is never mounted) is refused', async () => {
      clusterClaimMounted(await w.tenants[0]!.create(otClusters(PREMIUM), otCluster('rc-unmounted'), true));
    });

    it('a RedisCluster with storage and persistenceEnabled: false is refused', async () => {
      clusterClaimMounted(await w.tenants[0]!.create(otClusters(PREMIUM), otCluster('rc-off', false), true));
    });
  });

  describe('Spotahome: customConfig that switches snapshots off', () => {
    // Spotahome applies each customConfig line with CONFIG SET <first word> <rest> and CONFIG
    // REWRITE (service/redis/client.go SetCustomRedisConfig/getConfigParameters): "save " is
    // CONFIG SET save "", no snapshot at all; its redis.conf (generator.go redisConfigTemplate) has
    // only the save lines and no appendonly, so nothing reaches the claim.
    it('control: a RedisFailover without a persistentVolumeClaim is refused (its data is on emptyDir)', async () => {
      const body = inNs(failover('rf-emptydir'), A) as any;
      delete body.spec.redis.storage;
      refusedByWebhook(await w.tenants[0]!.create(OP.failover(A), body, true), /persistence\.durable-storage/);
    });

    it('a RedisFailover with a claim but customConfig "save " (CONFIG SET save "") is refused', async () => {
      const a = await w.tenants[0]!.create(OP.failover(A), inNs(failover('rf-nosave', { customConfig: ['save '] }), A), true);
      refusedByWebhook(a, /save|persistence/);
    });

    it('a RedisFailover with a claim but customConfig "appendonly no" and "save " is refused', async () => {
      const a = await w.tenants[0]!.create(OP.failover(A), inNs(failover('rf-nopersist', { customConfig: ['appendonly no', 'save '] }), A), true);
      refusedByWebhook(a, /save|persistence/);
    });
  });

  describe('Redis Enterprise: a database\'s persistence', () => {
    // REDB spec.persistence: "Database on-disk persistence policy", enum disabled | aofEverySecond |
    // aofAlways | snapshotEvery{1,6,12}Hour; its documented default is disabled
    // (redis_enterprise_database_api.md, RedisEnterpriseDatabaseSpec). The plan sells durable storage.
    it('control: a RedisEnterpriseDatabase with persistence aofEverySecond is admitted', async () => {
      admitted(await w.tenants[0]!.create(OP.redb(A), inNs(redb('db-aof', { persistence: 'aofEverySecond' }), A), true));
    });

    it('a RedisEnterpriseDatabase with persistence "disabled" is refused (plan standard sells durable storage)', async () => {
      refusedByWebhook(await w.tenants[0]!.create(OP.redb(A), inNs(redb('db-nopersist', { persistence: 'disabled' }), A), true), /persistence/);
    });

    it('a RedisEnterpriseDatabase without persistence (the operator\'s default: disabled) is refused', async () => {
      refusedByWebhook(await w.tenants[0]!.create(OP.redb(A), inNs(redb('db-default'), A), true), /persistence/);
    });
  });

  // Passes 4 and 5 (test/unit/attack4.test.ts, attack5.test.ts) found these with unit tests against
  // the engine; here the same objects go through the real API server and the shipped webhooks.
  describe('red team 4 and 5 through the API server: what the server is started with', () => {
    it('control: an OT Redis on the operator\'s image, and a KubeDB Redis with args about other settings, are admitted', async () => {
      const secret = { redisSecret: { name: 'ot-image-auth', key: 'password' } };
      admitted(await w.tenants[0]!.create(P.otRedis(B), otRedis(B, 'ot-own-image', { spec: { kubernetesConfig: secret } }), true));
      const body = redis(A, 'kdb-verbose', '1Gi') as any;
      body.spec.podTemplate.spec.containers[0].args = ['--loglevel', 'verbose'];
      admitted(await w.tenants[0]!.create(P.kubedbRedis(A), body, true));
    });

    it('an OT Redis on redis:7.2.4 (whose entrypoint never reads REDIS_PASSWORD or TLS_MODE) is refused', async () => {
      const kubernetesConfig = { image: 'redis:7.2.4', redisSecret: { name: 'ot-image-auth', key: 'password' } };
      const a = await w.tenants[0]!.create(P.otRedis(B), otRedis(B, 'ot-docker-image', { spec: { kubernetesConfig } }), true);
      refusedByWebhook(a, /authentication\.auth-enabled: [^;]*spec\.kubernetesConfig\.image redis:7\.2\.4 is not the operator's image/);
      expect(a.message).toMatch(/tls\.[a-z-]+: TLS is off \(spec\.kubernetesConfig\.image redis:7\.2\.4 is not the operator's image/);
    });

    it('a RedisFailover whose spec.redis.command drops /redis/redis.conf (where its password is) is refused', async () => {
      const a = await w.tenants[0]!.create(OP.failover(A), inNs(failover('rf-own-command', { command: ['redis-server', '--port', '6379'] }), A), true);
      refusedByWebhook(a, /spec\.redis\.command does not load \/redis\/redis\.conf/);
    });

    it('a KubeDB Redis whose redis container args turn snapshots off (they follow KubeDB\'s config file) is refused', async () => {
      const body = redis(A, 'kdb-nosave', '1Gi') as any;
      body.spec.podTemplate.spec.containers[0].args = ['--save', '', '--appendonly', 'no'];
      refusedByWebhook(await w.tenants[0]!.create(P.kubedbRedis(A), body, true), /persistence\.durable-storage: the redis container's args --save "" turns snapshots off/);
    });
  });
});

// The Secret grant (bootstrap/secrets.ts provenance): a referenced Secret is granted when it "says it
// is the tenant's": cert-manager's annotation cert-manager.io/certificate-name is one such sign. But
// cert-manager adopts an existing Secret of any owner when a Certificate names it: SecretsManager
// (pkg/controller/certificates/issuing/internal/secret.go, getCertificateSecret/UpdateData) applies
// only its own keys and annotations with Force and keeps the Secret's type and other data keys. A
// Certificate the tenant writes naming a platform Secret thus stamps that Secret "written by
// cert-manager". Here with the real controller computing the grant; cert-manager does not run in
// this suite, so the test writes what SecretsManager.UpdateData would.
describe('red team 2: the Secret grant after cert-manager adopts a platform Secret', () => {
  let c: IsolationCluster;
  const NS = 'acme-prod';

  beforeAll(async () => {
    c = await startIsolationCluster();
  }, 240_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  /** Once the tenant can read a Secret made after `what`, the controller has seen `what` too (one informer, in order). */
  async function controllerCaughtUp(marker: string): Promise<void> {
    ok(await c.tenant.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: marker }, stringData: { k: 'v' } }), marker);
    await until(`the tenant may read ${marker}`, async () => (await c.tenant.get(P.secrets(NS, marker))).status === 200, 15_000, 50, () => c.controller.tail());
  }

  it('control: a platform Secret a tenant Redis names is not readable by the tenant', async () => {
    ok(await c.admin.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'platform-backup' }, stringData: { token: 'platform-only' } }), 'platform Secret');
    ok(await c.tenant.create(P.kubedbRedis(NS), {
      apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'names-it', namespace: NS },
      spec: {
        version: '7.2.4', mode: 'Standalone', storageType: 'Durable', deletionPolicy: 'Delete',
        authSecret: { name: 'platform-backup' },
        storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '1Gi', cpu: '500m' } } }] } },
      },
    }), 'Redis naming platform-backup');
    await controllerCaughtUp('marker-1');
    const a = await c.tenant.get(P.secrets(NS, 'platform-backup'));
    expect(a.status, show(a)).toBe(403);
    expect(a.message).toMatch(new RegExp(`User "${TENANT_USER}" cannot`));
  });

  it('a tenant Certificate naming a platform Secret does not make it readable once cert-manager writes into it', async () => {
    ok(await c.admin.create(P.secrets(NS), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'platform-registry' }, stringData: { token: 'platform-only' } }), 'platform Secret');
    const cert = await c.tenant.create(P.certificates(NS), certificate(NS, 'adopter', { secretName: 'platform-registry', dnsNames: [`cache.${NS}.svc`] }));
    if (cert.status === 403) return; // refused: the secure answer
    expect(cert.status, show(cert)).toBe(201);
    // What cert-manager's SecretsManager.UpdateData applies: its keys and annotations; the rest stays.
    ok(await c.admin.patch(P.secrets(NS, 'platform-registry'), {
      metadata: { annotations: { 'cert-manager.io/certificate-name': 'adopter', 'cert-manager.io/issuer-name': 'redline-redis-ca' }, labels: { 'controller.cert-manager.io/fao': 'true' } },
      data: { 'tls.crt': Buffer.from('cert').toString('base64'), 'tls.key': Buffer.from('key').toString('base64') },
    }), 'cert-manager\'s write');
    await controllerCaughtUp('marker-2');
    const a = await c.tenant.get(P.secrets(NS, 'platform-registry'));
    const leaked = a.status === 200 ? Buffer.from(String(a.body.data?.token ?? ''), 'base64').toString() : '';
    expect(a.status, `the tenant read platform-registry (token ${JSON.stringify(leaked)}): ${show(a)}`).toBe(403);
  });
});
