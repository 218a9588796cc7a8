// The tenant ledger (issue 19) on a real kube-apiserver 1.20 with two `redline serve` replicas
// behind one address: concurrent creates from several clients across a tenant's two namespaces
// never take it past its entitlement and exactly the ones that fit are admitted; deletes free
// usage; a dryRun create consumes nothing; a reservation whose object was refused later in the
// chain expires and frees what it held; a namespace joining the tenant counts against
// `namespaces`; a downgrade below current usage admits nothing that grows while shrinking works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, parseMetrics } from '../bench/bootstrap-harness.js';
import { until } from '../helpers/wait.js';
import { ok, P, type Answer } from './helpers/isolation-http.js';
import { NAMESPACES, RESERVATION_TTL_MS, TENANT, redis, startLedgerCluster, type LedgerCluster } from './helpers/ledger-cluster.js';
import { tenantNamespace } from './helpers/tenant-namespaces.js';

let w: LedgerCluster;
const GI = 2 ** 30;
const [A, B] = NAMESPACES;

async function metrics(i: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${w.replicas[i]!.healthPort}/metrics`);
  return parseMetrics(await res.text());
}

async function sum(name: string, labels: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (let i = 0; i < w.replicas.length; i++) total += metricSum(await metrics(i), name, labels);
  return total;
}

async function names(): Promise<string[]> {
  const out: string[] = [];
  for (const ns of NAMESPACES) {
    const list = ok(await w.admin.get(P.kubedbRedis(ns)), `list ${ns}`).body as { items: { metadata: { namespace: string; name: string } }[] };
    out.push(...list.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`));
  }
  return out.sort();
}

/** The 1Gi Redis of the first test that are still there. */
async function ones(): Promise<string[]> {
  return (await names()).filter((n) => /\/r\d+$/.test(n));
}

const LEDGER_DENIAL = /^admission webhook "validate\.redline\.dev" denied the request: tenant acme: memory \S+ used \+ \S+ reserved \+ \S+ requested > 10Gi in plan standard$/;

function created(a: Answer, what: string): void {
  expect(a.status, `${what}: ${a.message}`).toBe(201);
}

/** Frees, then waits until both replicas' caches show it (a dry run of `memory` fits). */
async function waitFits(memory: string): Promise<void> {
  await until(`a ${memory} Redis fits again`, async () => (await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'probe-fit', memory), true)).status === 201, 15_000, 100);
}

describe('the tenant ledger through a real kube-apiserver with two serve replicas (issue 19)', () => {
  beforeAll(async () => {
    w = await startLedgerCluster();
  }, 180_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  it('30 concurrent 1Gi creates from five clients across two namespaces: exactly the 10 that fit in 10Gi are admitted', async () => {
    const attempts = Array.from({ length: 30 }, (_, i) => {
      const ns = i % 2 === 0 ? A : B;
      return w.tenants[i % w.tenants.length]!.create(P.kubedbRedis(ns), redis(ns, `r${i}`));
    });
    const answers = await Promise.all(attempts);
    const admitted = answers.filter((a) => a.status === 201);
    const denied = answers.filter((a) => a.status !== 201);
    expect(admitted).toHaveLength(10);
    for (const d of denied) {
      expect(d.status, d.message).toBe(403);
      expect(d.message).toMatch(LEDGER_DENIAL);
    }
    expect(await names()).toHaveLength(10);
    // Both replicas took part: the API server's connections were spread over them.
    expect(w.proxy.connections.every((n) => n > 0)).toBe(true);
    expect(await sum('redline_ledger_reservations_total', { result: 'reserved' })).toBe(10);
    console.log(`[ledger e2e] connections per replica ${w.proxy.connections.join('/')}; conflicts ${await sum('redline_ledger_conflicts_total')}, retries ${await sum('redline_ledger_retries_total')}; reserved per replica ${await Promise.all([0, 1].map(async (i) => metricSum(await metrics(i), 'redline_ledger_reservations_total', { result: 'reserved' })))}`);
  });

  it('both replicas report the usage and the entitlement', async () => {
    for (let i = 0; i < w.replicas.length; i++) {
      await until(`replica ${i} reports 10Gi used`, async () => metricSum(await metrics(i), 'redline_tenant_usage', { tenant: TENANT, dimension: 'memory' }) === 10 * GI);
      const m = await metrics(i);
      expect(metricSum(m, 'redline_tenant_entitlement', { tenant: TENANT, dimension: 'memory' })).toBe(10 * GI);
      expect(metricSum(m, 'redline_tenant_usage', { tenant: TENANT, dimension: 'instances' })).toBe(10);
      expect(metricSum(m, 'redline_tenant_usage', { tenant: TENANT, dimension: 'namespaces' })).toBe(2);
    }
  });

  it('a dryRun create is judged but consumes nothing; deletes free usage', async () => {
    const full = await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'dry-full'), true);
    expect(full.status).toBe(403);
    expect(full.message).toMatch(LEDGER_DENIAL);
    const [victim, second] = await ones();
    for (const key of [victim!, second!]) {
      const [ns, name] = key.split('/');
      ok(await w.admin.delete(P.kubedbRedis(ns!, name!)), `delete ${key}`);
    }
    await waitFits('2Gi');
    // Dry runs, even many, leave the two gigabytes free.
    for (let i = 0; i < 5; i++) expect((await w.tenants[i % 5]!.create(P.kubedbRedis(B), redis(B, `dry-${i}`, '2Gi'), true)).status).toBe(201);
    created(await w.tenants[1]!.create(P.kubedbRedis(B), redis(B, 'after-dry', '2Gi')), 'the 2Gi the dry runs did not take');
    const over = await w.tenants[2]!.create(P.kubedbRedis(A), redis(A, 'one-more'));
    expect(over.status).toBe(403);
    expect(over.message).toMatch(/memory 10Gi used \+ 0 reserved \+ 1Gi requested > 10Gi/);
  });

  it('a create with generateName reserves under the name the API server generated, so the stored object nets it out', async () => {
    // The validating webhook's request.name is the generated name (the API server fills it in from
    // the object before validating admission); the key must be it, never a per-request stand-in.
    ok(await w.admin.delete(P.kubedbRedis(B, 'after-dry')), 'delete after-dry');
    await waitFits('2Gi');
    const body = redis(B, 'unused') as { metadata: Record<string, unknown> };
    delete body.metadata['name'];
    body.metadata['generateName'] = 'gen-';
    const a = await w.tenants[0]!.create(P.kubedbRedis(B), body);
    created(a, 'the generateName create');
    const generated = (a.body as { metadata: { name: string } }).metadata.name;
    expect(generated).toMatch(/^gen-[a-z0-9]{5}$/);
    const record = ok(await w.admin.get(`/api/v1/namespaces/redline-ledger/configmaps/redline-ledger-${TENANT}`), 'the ledger record').body as { data: { reservations: string } };
    const keys = (JSON.parse(record.data.reservations) as { key: string }[]).map((r) => r.key);
    expect(keys).toContain(`${B}/kubedb.com/Redis/${generated}`);
    expect(keys.some((k) => k.includes('generated-'))).toBe(false);
    // Back to 10Gi used for the tests below.
    await until('a 1Gi Redis fits next to the generated one', async () => (await w.tenants[1]!.create(P.kubedbRedis(B), redis(B, 'refill'))).status === 201, 15_000, 100);
  });

  it('a reservation whose object is refused later in the chain holds its amount until it expires, then frees it', async () => {
    // A second validating webhook that cannot be reached refuses objects labelled denied-later;
    // Redline's validation runs next to it and reserves before the API server gives up on the object.
    ok(await w.admin.create('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'e2e-denied-later' },
      webhooks: [{
        name: 'denied-later.e2e.redline.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 2,
        clientConfig: { url: 'https://127.0.0.1:1/deny', caBundle: Buffer.from(w.replicas[0]!.caPem).toString('base64') },
        objectSelector: { matchLabels: { 'e2e.redline.dev/denied-later': 'true' } },
        rules: [{ apiGroups: ['kubedb.com'], apiVersions: ['v1'], resources: ['redises'], operations: ['CREATE'] }],
      }],
    }), 'denying webhook');
    const [victim] = await ones();
    const [ns, name] = victim!.split('/');
    ok(await w.admin.delete(P.kubedbRedis(ns!, name!)), `delete ${victim}`);
    await waitFits('1Gi');
    const expiredBefore = await sum('redline_ledger_expired_total');
    const phantom = await until('the API server calls the denying webhook', async () => {
      const a = await w.tenants[3]!.create(P.kubedbRedis(A), redis(A, 'phantom', '1Gi', { 'e2e.redline.dev/denied-later': 'true' }));
      return a.status !== 201 && a.message.includes('denied-later') ? a : undefined;
    }, 15_000, 200);
    expect(phantom.status).toBe(500);
    const held = await w.tenants[4]!.create(P.kubedbRedis(B), redis(B, 'after-phantom'));
    expect(held.status).toBe(403);
    expect(held.message).toMatch(/memory 9Gi used \+ 1Gi reserved \+ 1Gi requested > 10Gi in plan standard/);
    const t0 = Date.now();
    await until('the phantom reservation expires', async () => (await w.tenants[4]!.create(P.kubedbRedis(B), redis(B, 'after-phantom'))).status === 201, RESERVATION_TTL_MS + 15_000, 250);
    console.log(`[ledger e2e] the phantom reservation freed its 1Gi ${Date.now() - t0} ms after it blocked (ttl ${RESERVATION_TTL_MS} ms)`);
    expect(await sum('redline_ledger_expired_total')).toBeGreaterThan(expiredBefore);
    expect(await names()).not.toContain(`${A}/phantom`);
  });

  it('a namespace joining the tenant counts against namespaces: created with the label, or labelled later', async () => {
    const joining = await w.admin.create(P.namespaces(), tenantNamespace('acme-c', TENANT, 'standard'));
    expect(joining.status).toBe(403);
    expect(joining.message).toContain('tenant acme: namespaces 2 used + 0 reserved + 1 requested > 2 in plan standard');
    ok(await w.admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-d' } }), 'a namespace of no tenant');
    const labelled = await w.admin.patch(P.namespaces('acme-d'), { metadata: { labels: { 'redline.dev/tenant': TENANT, 'redline.dev/plan': 'standard' } } });
    expect(labelled.status).toBe(403);
    expect(labelled.message).toContain('namespaces 2 used');
  });

  it('a downgrade below current usage admits nothing that grows; shrinking and unchanged updates still work', async () => {
    for (const ns of NAMESPACES) ok(await w.admin.patch(P.namespaces(ns), { metadata: { labels: { 'redline.dev/plan': 'small' } } }), `downgrade ${ns}`);
    const grow = await until('the downgrade is seen', async () => {
      const a = await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'after-downgrade', '512Mi'));
      return a.status === 403 && a.message.includes('in plan small') ? a : undefined;
    }, 15_000, 100);
    expect(grow.message).toMatch(/tenant acme: memory 10Gi used \+ 0 reserved \+ 512Mi requested > 4Gi in plan small/);
    // One of the 1Gi Redis of the first test (whichever namespace it landed in).
    const [first] = await ones();
    const [ns, name] = first!.split('/');
    const current = ok(await w.tenants[1]!.get(P.kubedbRedis(ns!, name!)), 'read').body;
    const containers = current.spec.podTemplate.spec.containers;
    expect(containers[0].name).toBe('redis');
    expect(containers[0].resources.limits.memory).toBe('1Gi');
    containers[0].resources.limits.memory = '2Gi';
    const grown = await w.tenants[1]!.put(P.kubedbRedis(ns!, name!), current);
    expect(grown.status, grown.message).toBe(403);
    expect(grown.message).toMatch(/memory 10Gi used \+ 0 reserved \+ 1Gi requested > 4Gi in plan small/);
    containers[0].resources.limits.memory = '512Mi';
    if (containers[0].resources.requests) containers[0].resources.requests.memory = '512Mi';
    const shrunk = await w.tenants[1]!.put(P.kubedbRedis(ns!, name!), current);
    expect(shrunk.status, shrunk.message).toBe(200);
    // Unchanged (a label only) is no growth either.
    const relabelled = await w.tenants[2]!.patch(P.kubedbRedis(ns!, name!), { metadata: { labels: { team: 'payments' } } });
    expect(relabelled.status, relabelled.message).toBe(200);
  });

  it('fails closed: when serve may not write the ledger, growth is denied with a retry hint and what does not grow is admitted', async () => {
    for (const ns of NAMESPACES) ok(await w.admin.patch(P.namespaces(ns), { metadata: { labels: { 'redline.dev/plan': 'standard' } } }), `upgrade ${ns}`);
    await waitFits('256Mi');
    const bindingPath = '/apis/rbac.authorization.k8s.io/v1/namespaces/redline-ledger/rolebindings/redline-webhook-ledger';
    const binding = ok(await w.admin.get(bindingPath), 'the ledger RoleBinding').body;
    ok(await w.admin.delete(bindingPath), 'revoke the ledger grant');
    const refused = await until('the revoked grant is felt', async () => {
      const a = await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'no-ledger', '256Mi'));
      return a.status !== 201 ? a : undefined;
    }, 15_000, 200);
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/tenant acme: the ledger could not be written \(.*403.*\); retry in a moment$/);
    const [one] = await ones();
    const [ns, name] = one!.split('/');
    const unchanged = await w.tenants[1]!.patch(P.kubedbRedis(ns!, name!), { metadata: { labels: { team: 'search' } } });
    expect(unchanged.status, unchanged.message).toBe(200);
    ok(await w.admin.create('/apis/rbac.authorization.k8s.io/v1/namespaces/redline-ledger/rolebindings', { ...binding, metadata: { name: binding.metadata.name, labels: binding.metadata.labels } }), 'grant restored');
    await until('growth is admitted again', async () => (await w.tenants[0]!.create(P.kubedbRedis(A), redis(A, 'no-ledger', '256Mi'))).status === 201, 15_000, 200);
    expect(await sum('redline_ledger_reservations_total', { result: 'unavailable' })).toBeGreaterThan(0);
  });
});
