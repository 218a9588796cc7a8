// The Namespace label guard on its own: every namespace, the status/finalize subresources, the
// kubernetes.io/metadata.name rule, and the mutating patch that adds that label.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../policies/engine/types.js';
import { isEnforcedNamespace } from '../../core/vocabulary.js';
import { LabelGuard, metadataNamePatch } from '../../webhook/label-guard.js';

const guard = new LabelGuard({ users: ['platform-admin'], groups: ['platform:admins'], serviceAccounts: ['gitops/platform-sync'] });
const ns = (name: string, labels: Record<string, string> = {}): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const alice = { username: 'alice', groups: ['system:authenticated'] };
const admin = { username: 'platform-admin', groups: ['system:authenticated'] };

function create(object: JsonObject, user = alice) {
  return guard.check({ operation: 'CREATE', name: '', object, oldObject: null, userInfo: user });
}
function update(oldObject: JsonObject, object: JsonObject, user = alice, subResource = '') {
  return guard.check({ operation: 'UPDATE', name: (oldObject.metadata as { name: string }).name, subResource, object, oldObject, userInfo: user });
}

describe('redline.dev/* labels: admins only, on every namespace', () => {
  it('a non-admin may not set a plan on a plain namespace (it would survive onboarding)', () => {
    const v = update(ns('sandbox'), ns('sandbox', { 'redline.dev/plan': 'premium' }));
    expect(v).toMatchObject({ allowed: false, reason: 'label-guard', changes: [{ key: 'redline.dev/plan', change: 'added' }] });
    if (!v.allowed) {
      expect(v.message).toBe(
        'labels redline.dev/plan (added) of namespace "sandbox" may only be changed by Redline admins ' +
          '(users platform-admin; groups platform:admins; service accounts gitops/platform-sync, redline-system/redline-controller); ' +
          '"alice" is not one of them',
      );
    }
    expect(create(ns('sandbox', { 'redline.dev/anything': 'x' })).allowed).toBe(false);
  });

  it('nor remove or change one', () => {
    expect(update(ns('sandbox', { 'redline.dev/plan': 'free' }), ns('sandbox')).allowed).toBe(false);
    expect(update(ns('sandbox', { 'redline.dev/plan': 'free' }), ns('sandbox', { 'redline.dev/plan': 'premium' })).allowed).toBe(false);
  });

  it('admins may, by user, group or service account (the controller by default)', () => {
    const to = ns('sandbox', { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'premium' });
    expect(update(ns('sandbox'), to, admin)).toMatchObject({ allowed: true, reason: 'admin' });
    expect(update(ns('sandbox'), to, { username: 'carol', groups: ['platform:admins'] }).allowed).toBe(true);
    expect(update(ns('sandbox'), to, { username: 'system:serviceaccount:gitops:platform-sync', groups: [] }).allowed).toBe(true);
    expect(update(ns('sandbox'), to, { username: 'system:serviceaccount:redline-system:redline-controller', groups: [] }).allowed).toBe(true);
  });

  it('other labels are anyone\'s; an unchanged Redline label is no change', () => {
    const before = ns('sandbox', { 'redline.dev/tenant': 'acme', team: 'a' });
    expect(update(before, ns('sandbox', { 'redline.dev/tenant': 'acme', team: 'b', cost: '1' }))).toMatchObject({ allowed: true, reason: 'no-guarded-change' });
  });
});

describe('pod-security.kubernetes.io/* labels: admins only where Redline enforces', () => {
  const psa = { 'pod-security.kubernetes.io/enforce': 'restricted' };
  it('guarded on a tenant namespace and on one being offboarded (redline.dev/managed=true)', () => {
    const relax = { 'pod-security.kubernetes.io/enforce': 'privileged' };
    const tenant = update(ns('t', { 'redline.dev/tenant': 'acme', ...psa }), ns('t', { 'redline.dev/tenant': 'acme', ...relax }));
    expect(tenant.allowed).toBe(false);
    if (!tenant.allowed) expect(tenant.message).toMatch(/^labels pod-security.kubernetes.io\/enforce \(changed\) of tenant namespace "t"/);
    expect(update(ns('t', { 'redline.dev/managed': 'true', ...psa }), ns('t', { 'redline.dev/managed': 'true', ...relax })).allowed).toBe(false);
    // Whatever the managed label's value: only admins set it, and it says the namespace is Redline's.
    expect(update(ns('t', { 'redline.dev/managed': 'false', ...psa }), ns('t', { 'redline.dev/managed': 'false', ...relax })).allowed).toBe(false);
  });

  it('free on other namespaces', () => {
    expect(update(ns('sandbox', psa), ns('sandbox', { 'pod-security.kubernetes.io/enforce': 'privileged' })).allowed).toBe(true);
  });
});

describe('the status and finalize subresources are judged like the Namespace itself', () => {
  it('a plan change through namespaces/status or namespaces/finalize is refused, naming the path', () => {
    for (const sub of ['status', 'finalize']) {
      const v = update(ns('t', { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' }), ns('t', { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'premium' }), alice, sub);
      expect(v.allowed, sub).toBe(false);
      if (!v.allowed) expect(v.message).toContain(`of tenant namespace "t" (through namespaces/${sub}) may only be changed by Redline admins`);
    }
  });

  it('a finalize that changes no label passes', () => {
    const t = ns('t', { 'redline.dev/tenant': 'acme' });
    expect(update(t, t, { username: 'system:serviceaccount:kube-system:namespace-controller', groups: [] }, 'finalize').allowed).toBe(true);
  });
});

describe('kubernetes.io/metadata.name must be the namespace\'s name', () => {
  it('refuses a CREATE claiming another name, for admins too', () => {
    for (const user of [alice, admin]) {
      const v = create(ns('evil', { 'kubernetes.io/metadata.name': 'kube-system' }), user);
      expect(v).toMatchObject({ allowed: false, reason: 'metadata-name' });
      if (!v.allowed) {
        expect(v.message).toBe(
          'label kubernetes.io/metadata.name of namespace "evil" is "kube-system", but it must be the namespace\'s own name: ' +
            'set it to "evil" or leave it out (Redline adds it; the API server sets it itself since Kubernetes 1.21)',
        );
      }
    }
    expect(create(ns('evil', { 'kubernetes.io/metadata.name': 'monitoring' })).allowed).toBe(false);
  });

  it('refuses an UPDATE (or a status/finalize write) that sets a wrong value', () => {
    const t = ns('tenant-a', { 'redline.dev/tenant': 'a', 'kubernetes.io/metadata.name': 'tenant-a' });
    const spoofed = ns('tenant-a', { 'redline.dev/tenant': 'a', 'kubernetes.io/metadata.name': 'kube-system' });
    for (const sub of ['', 'status', 'finalize']) {
      expect(update(t, spoofed, admin, sub), sub || 'namespace').toMatchObject({ allowed: false, reason: 'metadata-name' });
    }
  });

  it('a correct or absent label passes; so does an UPDATE that changes no label (the namespace can still be deleted)', () => {
    expect(create(ns('team-a', { 'kubernetes.io/metadata.name': 'team-a' })).allowed).toBe(true);
    expect(create(ns('team-a')).allowed).toBe(true);
    const old = ns('legacy', { 'kubernetes.io/metadata.name': 'monitoring' });
    expect(update(old, old, alice, 'finalize').allowed).toBe(true);
    // Any label change must correct it, onboarding included.
    const onboard = update(old, ns('legacy', { 'kubernetes.io/metadata.name': 'monitoring', 'redline.dev/tenant': 'a' }), admin);
    expect(onboard).toMatchObject({ allowed: false, reason: 'metadata-name' });
    expect(update(old, ns('legacy', { 'kubernetes.io/metadata.name': 'legacy', 'redline.dev/tenant': 'a' }), admin).allowed).toBe(true);
  });

  it('uses the name of the object (generateName: request.name is empty on CREATE)', () => {
    const v = guard.check({ operation: 'CREATE', name: '', object: ns('gen-x7k2p', { 'kubernetes.io/metadata.name': 'gen-x7k2p' }), oldObject: null, userInfo: alice });
    expect(v.allowed).toBe(true);
  });
});

describe('kube-system and redline-system never become tenants', () => {
  it('refuses the tenant or managed label there, for admins too', () => {
    for (const name of ['kube-system', 'redline-system']) {
      const v = update(ns(name, { 'kubernetes.io/metadata.name': name }), ns(name, { 'kubernetes.io/metadata.name': name, 'redline.dev/tenant': 'x' }), admin);
      expect(v, name).toMatchObject({ allowed: false, reason: 'system-namespace' });
      expect(update(ns(name), ns(name, { 'redline.dev/managed': 'true' }), admin).allowed, name).toBe(false);
    }
  });
});

it('DELETE is never judged', () => {
  expect(guard.check({ operation: 'DELETE', name: 'x', object: null, oldObject: ns('x', { 'redline.dev/tenant': 'a' }), userInfo: alice }).allowed).toBe(true);
});

it('isEnforcedNamespace: the tenant label, or redline.dev/managed=true', () => {
  expect(isEnforcedNamespace({ 'redline.dev/tenant': '' })).toBe(true);
  expect(isEnforcedNamespace({ 'redline.dev/managed': 'true', 'redline.dev/plan': 'free' })).toBe(true);
  expect(isEnforcedNamespace({ 'redline.dev/managed': 'false' })).toBe(false);
  expect(isEnforcedNamespace({ 'redline.dev/plan': 'free' })).toBe(false);
});

describe('metadataNamePatch (mutating, Namespace CREATE)', () => {
  it('adds the label when absent, to existing labels or without any', () => {
    expect(metadataNamePatch(ns('team-a', { team: 'a' }))).toEqual([{ op: 'add', path: '/metadata/labels/kubernetes.io~1metadata.name', value: 'team-a' }]);
    expect(metadataNamePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } })).toEqual([
      { op: 'add', path: '/metadata/labels', value: { 'kubernetes.io/metadata.name': 'team-a' } },
    ]);
  });

  it('nothing when present (right, or wrong: validation refuses that), or when the name is not known yet', () => {
    expect(metadataNamePatch(ns('team-a', { 'kubernetes.io/metadata.name': 'team-a' }))).toEqual([]);
    expect(metadataNamePatch(ns('team-a', { 'kubernetes.io/metadata.name': 'kube-system' }))).toEqual([]);
    expect(metadataNamePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { generateName: 'gen-' } })).toEqual([]);
    expect(metadataNamePatch(null)).toEqual([]);
  });
});
