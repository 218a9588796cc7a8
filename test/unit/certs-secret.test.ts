import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthorityState, apply, decide, resolveAuthorityConfig } from '../../certs/authority.js';
import { decodeSecretData, encodeSecretData, readServingFromFiles } from '../../certs/secret.js';
import { servingStatus } from '../../certs/status.js';
import { type KeyPairPem, generateKeyPair, issueCa, issueLeaf } from '../../certs/x509.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const cfg = resolveAuthorityConfig({ serviceName: 'redline-webhook', namespace: 'redline-system' });
const b64 = (s: string) => Buffer.from(s).toString('base64');

let keys: KeyPairPem[] = [];
let n = 0;
const pooledKey = async (): Promise<KeyPairPem> => keys[n++ % keys.length] as KeyPairPem;
let state: AuthorityState;
let rotated: AuthorityState;
let dir: string;

beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 4 }, () => generateKeyPair()));
  state = await apply(null, decide(null, cfg, T0), cfg, T0, { generateKeyPair: pooledKey });
  rotated = await apply(state, { action: 'renew-ca', reason: 't' }, cfg, T0, { generateKeyPair: pooledKey });
  dir = await mkdtemp(join(tmpdir(), 'redline-certs-secret-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('encodeSecretData / decodeSecretData', () => {
  it('uses the documented keys with base64 values and round-trips', () => {
    const data = encodeSecretData(rotated);
    expect(Object.keys(data).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(Buffer.from(data['tls.crt'] ?? '', 'base64').toString()).toBe(rotated.serving.certPem);
    expect(Buffer.from(data['ca.crt'] ?? '', 'base64').toString()).toBe(rotated.ca.certPem);
    expect(Buffer.from(data['ca-bundle.crt'] ?? '', 'base64').toString()).toBe(rotated.caBundle.join(''));
    const decoded = decodeSecretData(data);
    expect(decoded).toEqual({ ok: true, value: rotated });
    expect(rotated.caBundle).toHaveLength(2);
  });

  it('a missing ca-bundle.crt defaults to ca.crt', () => {
    const { ['ca-bundle.crt']: _omit, ...data } = encodeSecretData(state);
    const decoded = decodeSecretData(data);
    expect(decoded.ok && decoded.value.caBundle).toEqual([state.ca.certPem]);
  });

  const problems: Array<[string, (d: Record<string, string>) => Record<string, string>, RegExp]> = [
    ['missing key', (d) => { const { 'tls.key': _k, ...rest } = d; return rest; }, /"tls\.key" is missing/],
    ['garbage base64', (d) => ({ ...d, 'ca.crt': '!!!not base64###' }), /"ca\.crt" is not valid base64/],
    ['binary junk', (d) => ({ ...d, 'ca.key': Buffer.from([0xff, 0xfe, 0x00, 0x81]).toString('base64') }), /"ca\.key" is not valid base64/],
    ['not a PEM', (d) => ({ ...d, 'tls.crt': b64('hello world') }), /"tls\.crt" does not contain a PEM certificate/],
    ['empty', (d) => ({ ...d, 'tls.crt': '' }), /"tls\.crt" is empty/],
    [
      'corrupt PEM body',
      (d) => ({ ...d, 'tls.crt': b64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') }),
      /"tls\.crt" contains a corrupt certificate/,
    ],
    ['key not PEM', (d) => ({ ...d, 'tls.key': b64('nope') }), /"tls\.key" does not contain a PEM private key/],
    [
      'corrupt key',
      (d) => ({ ...d, 'ca.key': b64('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') }),
      /"ca\.key" contains a corrupt private key/,
    ],
    ['serving cert/key mismatch', (d) => ({ ...d, 'tls.key': d['ca.key'] ?? '' }), /"tls\.key" does not match the certificate in "tls\.crt"/],
    ['CA cert/key mismatch', (d) => ({ ...d, 'ca.key': d['tls.key'] ?? '' }), /"ca\.key" does not match the certificate in "ca\.crt"/],
    ['bundle without PEMs', (d) => ({ ...d, 'ca-bundle.crt': b64('nothing here') }), /"ca-bundle\.crt" does not contain any PEM/],
  ];

  for (const [name, mutate, re] of problems) {
    it(`reports a problem naming the key: ${name}`, () => {
      const r = decodeSecretData(mutate(encodeSecretData(state)));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toMatch(re);
    });
  }

  it('never throws on absent or weird input', () => {
    expect(decodeSecretData(undefined)).toEqual({ ok: false, problem: 'secret has no data' });
    expect(decodeSecretData({})).toEqual({ ok: false, problem: 'secret has no data' });
    expect(decodeSecretData(null)).toMatchObject({ ok: false });
    expect(decodeSecretData({ 'tls.crt': 42 } as unknown as Record<string, string>)).toMatchObject({ ok: false });
  });

  it('on a corrupt Secret the caller falls back to decide(null) -> issue-all', async () => {
    const r = decodeSecretData({ 'tls.crt': 'garbage' });
    const d = decide(r.ok ? r.value : null, cfg, T0);
    expect(d.action).toBe('issue-all');
    const s = await apply(null, d, cfg, T0, { generateKeyPair: pooledKey });
    expect(decodeSecretData(encodeSecretData(s)).ok).toBe(true);
  });
});

describe('readServingFromFiles (bring-your-own)', () => {
  async function writeDir(name: string, files: Record<string, string>): Promise<string> {
    const d = join(dir, name);
    await rm(d, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(d, { recursive: true });
    for (const [f, c] of Object.entries(files)) await writeFile(join(d, f), c);
    return d;
  }

  it('reads a cert-manager style Secret (tls.crt, tls.key, ca.crt)', async () => {
    const d = await writeDir('cm', { 'tls.crt': state.serving.certPem, 'tls.key': state.serving.keyPem, 'ca.crt': state.ca.certPem });
    const r = await readServingFromFiles(d);
    expect(r).toEqual({
      ok: true,
      value: { certPem: state.serving.certPem, keyPem: state.serving.keyPem, caBundle: [state.ca.certPem], caSource: 'ca.crt' },
    });
    expect(r.ok && servingStatus(r.value.certPem, r.value.keyPem, T0).ready).toBe(true);
  });

  it('prefers ca-bundle.crt over ca.crt', async () => {
    const d = await writeDir('redline', {
      'tls.crt': rotated.serving.certPem,
      'tls.key': rotated.serving.keyPem,
      'ca.crt': rotated.ca.certPem,
      'ca-bundle.crt': rotated.caBundle.join(''),
    });
    const r = await readServingFromFiles(d);
    expect(r.ok && r.value.caBundle).toEqual(rotated.caBundle);
    expect(r.ok && r.value.caSource).toBe('ca-bundle.crt');
  });

  it('keeps a chain in tls.crt (leaf first) and checks the key against the leaf', async () => {
    const ca = issueCa({ commonName: 'root', notBefore: T0, lifetimeMs: DAY, key: await pooledKey() });
    const leaf = issueLeaf(ca, { commonName: 'x', dnsNames: ['x'], notBefore: T0, lifetimeMs: HOUR, key: await pooledKey() });
    const d = await writeDir('chain', { 'tls.crt': leaf.certPem + ca.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.certPem });
    const r = await readServingFromFiles(d);
    expect(r.ok && r.value.certPem).toBe(leaf.certPem + ca.certPem);
  });

  it('reports missing / mismatched files', async () => {
    const noKey = await writeDir('nokey', { 'tls.crt': state.serving.certPem, 'ca.crt': state.ca.certPem });
    expect(await readServingFromFiles(noKey)).toMatchObject({ ok: false, problem: expect.stringMatching(/"tls\.key" is missing/) });
    const noCa = await writeDir('noca', { 'tls.crt': state.serving.certPem, 'tls.key': state.serving.keyPem });
    expect(await readServingFromFiles(noCa)).toMatchObject({ ok: false, problem: expect.stringMatching(/ca-bundle\.crt.*ca\.crt/) });
    const mismatch = await writeDir('mismatch', {
      'tls.crt': state.serving.certPem,
      'tls.key': state.ca.keyPem,
      'ca.crt': state.ca.certPem,
    });
    expect(await readServingFromFiles(mismatch)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/"tls\.key" does not match/),
    });
    const garbage = await writeDir('garbage', { 'tls.crt': 'xx', 'tls.key': state.serving.keyPem, 'ca.crt': state.ca.certPem });
    expect(await readServingFromFiles(garbage)).toMatchObject({ ok: false, problem: expect.stringMatching(/"tls\.crt"/) });
    expect(await readServingFromFiles(join(dir, 'does-not-exist'))).toMatchObject({ ok: false });
  });
});

describe('servingStatus', () => {
  it('ready while valid and the key matches', () => {
    const s = servingStatus(state.serving.certPem, state.serving.keyPem, T0);
    expect(s.ready).toBe(true);
    expect(s.notAfter?.getTime()).toBe(T0.getTime() + 90 * DAY);
  });

  it('not ready when expired or not yet valid', () => {
    expect(servingStatus(state.serving.certPem, state.serving.keyPem, new Date(T0.getTime() + 90 * DAY))).toMatchObject({
      ready: false,
      reason: expect.stringMatching(/expired/),
    });
    expect(servingStatus(state.serving.certPem, state.serving.keyPem, new Date(T0.getTime() - HOUR))).toMatchObject({
      ready: false,
      reason: expect.stringMatching(/not yet valid/),
    });
  });

  it('not ready when missing, unparsable, or the key does not match', () => {
    expect(servingStatus(undefined, state.serving.keyPem, T0)).toMatchObject({ ready: false, reason: expect.stringMatching(/certificate is missing/) });
    expect(servingStatus(state.serving.certPem, '', T0)).toMatchObject({ ready: false, reason: expect.stringMatching(/key is missing/) });
    expect(servingStatus('garbage', state.serving.keyPem, T0)).toMatchObject({ ready: false, reason: expect.stringMatching(/cannot be parsed/) });
    expect(servingStatus(state.serving.certPem, state.ca.keyPem, T0)).toMatchObject({
      ready: false,
      reason: expect.stringMatching(/does not match/),
    });
  });
});
