// Secrets in enforced namespaces: service-account-token Secrets and the redline.dev/tenant-secret label.
import { describe, expect, it } from 'vitest';
import type { JsonObject, UserInfo } from '../../policies/engine/types.js';
import { LabelGuard } from '../../webhook/label-guard.js';
import { checkSecret, tenantSecretPatch, type SecretRequest } from '../../webhook/secret-guard.js';

const admins = new LabelGuard({ users: ['platform-admin'], groups: [], serviceAccounts: [] });
const alice: UserInfo = { username: 'alice', groups: ['redline:tenant:acme', 'system:authenticated'] };
const operator: UserInfo = { username: 'system:serviceaccount:kubedb:kubedb-operator', groups: ['system:serviceaccounts'] };
const secret = (labels: Record<string, string> = {}, type = 'Opaque', extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'v1', kind: 'Secret', type, metadata: { name: 's', namespace: 'tenant-acme', labels }, data: { password: 'c2VjcmV0' }, ...extra,
});
const req = (operation: string, object: JsonObject | null, userInfo: UserInfo, oldObject: JsonObject | null = null): SecretRequest =>
  ({ operation, name: 's', namespace: 'tenant-acme', object, oldObject, userInfo });

describe('service-account-token Secrets', () => {
  const token = secret({}, 'kubernetes.io/service-account-token', { metadata: { name: 's', annotations: { 'kubernetes.io/service-account.name': 'redline-controller' } } });

  it('a tenant may neither create nor update one, and is told what to use instead', () => {
    const v = checkSecret(req('CREATE', token, alice), admins);
    expect(v).toMatchObject({ allowed: false, reason: 'service-account-token' });
    if (!v.allowed) {
      expect(v.message).toBe(
        'Secret "s" in namespace "tenant-acme": Secrets of type kubernetes.io/service-account-token may only be written by Redline admins ' +
          '(users platform-admin; service accounts redline-system/redline-controller) and the control plane; "alice" is neither. ' +
          'For a token, use the TokenRequest API (kubectl create token) for an account you may use',
      );
    }
    expect(checkSecret(req('UPDATE', token, alice, token), admins).allowed).toBe(false);
    // Nor turn an Opaque Secret into one, nor keep writing one whose old type was a token.
    expect(checkSecret(req('UPDATE', secret(), alice, token), admins).allowed).toBe(false);
    expect(checkSecret(req('CREATE', token, operator), admins).allowed).toBe(false);
  });

  it('the control plane (kube-system service accounts, the controller manager) and admins may', () => {
    for (const username of ['system:serviceaccount:kube-system:tokens-controller', 'system:kube-controller-manager', 'platform-admin']) {
      expect(checkSecret(req('CREATE', token, { username, groups: [] }), admins).allowed, username).toBe(true);
      expect(checkSecret(req('UPDATE', token, { username, groups: [] }, token), admins).allowed, username).toBe(true);
    }
  });
});

describe('the redline.dev/tenant-secret label', () => {
  const labelled = secret({ 'redline.dev/tenant-secret': 'true' });
  it('a non-admin may not set or remove it on UPDATE', () => {
    const set = checkSecret(req('UPDATE', labelled, alice, secret()), admins);
    expect(set).toMatchObject({ allowed: false, reason: 'tenant-secret-label' });
    if (!set.allowed) expect(set.message).toMatch(/^Secret "s" in namespace "tenant-acme": label redline.dev\/tenant-secret \(added\) may only be changed by Redline admins .*"alice" is not one of them/);
    expect(checkSecret(req('UPDATE', secret(), operator, labelled), admins)).toMatchObject({ allowed: false, reason: 'tenant-secret-label' });
  });

  it('other updates pass, and admins may change it', () => {
    expect(checkSecret(req('UPDATE', { ...labelled, data: { password: 'bmV3' } }, alice, labelled), admins).allowed).toBe(true);
    expect(checkSecret(req('UPDATE', secret(), { username: 'platform-admin', groups: [] }, labelled), admins).allowed).toBe(true);
    expect(checkSecret(req('CREATE', labelled, alice), admins).allowed).toBe(true);
    expect(checkSecret(req('DELETE', null, alice, labelled), admins).allowed).toBe(true);
  });
});

describe('Secrets a tenant could plant', () => {
  const labelled = secret({ 'redline.dev/tenant-secret': 'true' });
  it('nobody but a tenant user (or an admin) creates a Secret carrying the tenant-secret label', () => {
    // e.g. cert-manager writing a Certificate's secretTemplate.labels, steered by the tenant
    const certManager: UserInfo = { username: 'system:serviceaccount:cert-manager:cert-manager', groups: [] };
    const v = checkSecret(req('CREATE', labelled, certManager), admins);
    expect(v).toMatchObject({ allowed: false, reason: 'tenant-secret-label' });
    if (!v.allowed) expect(v.message).toContain('is not a tenant user. Remove the label');
    expect(checkSecret(req('CREATE', labelled, operator), admins).allowed).toBe(false);
    expect(checkSecret(req('CREATE', labelled, alice), admins).allowed).toBe(true);
    expect(checkSecret(req('CREATE', labelled, { username: 'platform-admin', groups: [] }), admins).allowed).toBe(true);
    expect(checkSecret(req('CREATE', secret(), certManager), admins).allowed).toBe(true);
  });

  it('a tenant user cannot create the tenant CA Secret before cert-manager does', () => {
    const ca = { operation: 'CREATE', name: 'redline-tenant-ca', namespace: 'tenant-acme', object: secret({}, 'kubernetes.io/tls'), oldObject: null };
    const v = checkSecret({ ...ca, userInfo: alice }, admins);
    expect(v).toMatchObject({ allowed: false, reason: 'tenant-ca-secret' });
    if (!v.allowed) expect(v.message).toContain('Choose another name for your Secret');
    expect(checkSecret({ ...ca, userInfo: { username: 'system:serviceaccount:cert-manager:cert-manager', groups: [] } }, admins).allowed).toBe(true);
    expect(checkSecret({ ...ca, userInfo: { username: 'platform-admin', groups: [] } }, admins).allowed).toBe(true);
  });

  it('nor can a service account of the namespace (a Tenant subject, or a tenant pod\'s account); one of another namespace is not the tenant', () => {
    const ca = { operation: 'CREATE', name: 'redline-tenant-ca', namespace: 'tenant-acme', object: secret({}, 'kubernetes.io/tls'), oldObject: null };
    expect(checkSecret({ ...ca, userInfo: { username: 'system:serviceaccount:tenant-acme:deployer', groups: [] } }, admins))
      .toMatchObject({ allowed: false, reason: 'tenant-ca-secret' });
    expect(checkSecret({ ...ca, userInfo: { username: 'system:serviceaccount:tenant-acme-2:deployer', groups: [] } }, admins).allowed).toBe(true);
  });
});

describe('empty values in a tenant\'s Secret (an empty password turns authentication off)', () => {
  const withData = (data: JsonObject, field = 'data'): JsonObject => {
    const { data: _ignored, ...rest } = secret();
    return { ...rest, [field]: data };
  };

  it.each([
    ['an empty data value', withData({ password: '' }), ['password']],
    ['an empty stringData value', withData({ password: '' }, 'stringData'), ['password']],
    ['any key, as OT-Container-Kit reads the key its redisSecret names', withData({ k: 'eA==', 'redis-pass': '', z: '' }), ['redis-pass', 'z']],
  ])('%s is refused to a tenant user and to the namespace\'s service accounts, naming the keys', (_what, object, keys) => {
    for (const userInfo of [alice, { username: 'system:serviceaccount:tenant-acme:deployer', groups: [] }]) {
      for (const op of ['CREATE', 'UPDATE']) {
        const v = checkSecret(req(op, object as JsonObject, userInfo, op === 'UPDATE' ? secret() : null), admins);
        expect(v).toMatchObject({ allowed: false, reason: 'empty-secret-value' });
        if (!v.allowed) for (const k of keys as string[]) expect(v.message).toContain(JSON.stringify(k));
      }
    }
  });

  it('values present pass; operators, cert-manager (an empty ca.crt) and admins are not checked', () => {
    expect(checkSecret(req('CREATE', withData({ password: 'eA==' }), alice), admins).allowed).toBe(true);
    const caEmpty = withData({ 'tls.crt': 'Yw==', 'tls.key': 'aw==', 'ca.crt': '' });
    expect(checkSecret(req('CREATE', caEmpty, { username: 'system:serviceaccount:cert-manager:cert-manager', groups: [] }), admins).allowed).toBe(true);
    expect(checkSecret(req('CREATE', withData({ password: '' }), operator), admins).allowed).toBe(true);
    expect(checkSecret(req('CREATE', withData({ password: '' }), { username: 'platform-admin', groups: [] }), admins).allowed).toBe(true);
  });
});

describe('tenantSecretPatch (mutating, Secret CREATE)', () => {
  it('labels a Secret a tenant user creates', () => {
    expect(tenantSecretPatch(req('CREATE', secret({ app: 'x' }), alice), admins)).toEqual([{ op: 'add', path: '/metadata/labels/redline.dev~1tenant-secret', value: 'true' }]);
    const noLabels = secret();
    delete (noLabels.metadata as JsonObject).labels;
    expect(tenantSecretPatch(req('CREATE', noLabels, alice), admins)).toEqual([{ op: 'add', path: '/metadata/labels', value: { 'redline.dev/tenant-secret': 'true' } }]);
    expect(tenantSecretPatch(req('CREATE', secret({ 'redline.dev/tenant-secret': 'false' }), alice), admins)).toEqual([
      { op: 'add', path: '/metadata/labels/redline.dev~1tenant-secret', value: 'true' },
    ]);
  });

  it('not one a service account, a system identity or an admin creates, nor one already labelled, nor on UPDATE', () => {
    expect(tenantSecretPatch(req('CREATE', secret(), operator), admins)).toEqual([]);
    expect(tenantSecretPatch(req('CREATE', secret(), { username: 'system:kube-controller-manager', groups: [] }), admins)).toEqual([]);
    expect(tenantSecretPatch(req('CREATE', secret(), { username: 'platform-admin', groups: [] }), admins)).toEqual([]);
    expect(tenantSecretPatch(req('CREATE', secret({ 'redline.dev/tenant-secret': 'true' }), alice), admins)).toEqual([]);
    expect(tenantSecretPatch(req('UPDATE', secret(), alice, secret()), admins)).toEqual([]);
  });
});
