// `redline certs`: what the webhook serves, and a forced rotation, for operators.
//
//   redline certs show   [--kubeconfig F] [--namespace N] [--secret NAME] [--output text|json]
//   redline certs show   --dir DIR [--output text|json]        (a mounted Secret or a dev dir)
//   redline certs rotate [--kubeconfig F] [--namespace N] [--secret NAME] [--ca] [--timeout SECONDS]
//
// `rotate` asks the leader-elected controller to rotate (annotation redline.dev/rotate on the
// Secret, like `cmctl renew` does for cert-manager) and waits until it is done: the one writer of
// the Secret stays the controller, and a CA rotation keeps its two phases (new CA trusted first,
// serving certificate switched after the rollout delay).
//
// Exit codes: 0 done / certificate usable; 1 not found, unusable, refused or timed out; 2 bad usage.

import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DEFAULT_RENEW_FRACTION, renewalTime } from '../certs/authority.js';
import { readSecretTexts, SECRET_KEYS, textOf, type SecretKey } from '../certs/secret.js';
import { KubeSecretStore, type SecretSnapshot } from '../certs/secret-store.js';
import { servingStatus } from '../certs/status.js';
import { type CertInfo, isIssuedBy, splitPemBundle, tryParseCertificate } from '../certs/x509.js';
import { ANNOTATION_ROTATE, ANNOTATION_ROTATE_REQUESTED_AT, CERT_SECRET_DEFAULTS, LABEL_MANAGED_BY, MANAGED_BY_REDLINE } from '../core/vocabulary.js';
import { isRedlineError, RedlineError } from '../core/errors.js';
import { isDnsLabel, isDnsSubdomain } from '../core/names.js';
import { KubeApi } from '../kube/api-client.js';
import { loadKubeConfig, resolveClusterAccess } from '../kube/kubeconfig.js';


export const CERTS_USAGE = `usage: redline certs <show|rotate> [flags]

redline certs show [--kubeconfig FILE] [--namespace NS] [--secret NAME] [--output text|json]
redline certs show --dir DIR [--output text|json]
    What the webhook serves: subject, SANs, serial, validity, time left and renewal time of the
    serving certificate, and every CA of the trusted bundle with its expiry. From the Secret
    (default ${CERT_SECRET_DEFAULTS.namespace}/${CERT_SECRET_DEFAULTS.secretName}) or from a directory with tls.crt,
    tls.key and ca-bundle.crt or ca.crt (a mounted Secret, .redline/dev). Exit 1 when the serving
    certificate is missing, not yet valid, expired or does not match its key.

redline certs rotate [--kubeconfig FILE] [--namespace NS] [--secret NAME] [--ca] [--timeout SECONDS]
    Forces a rotation of the serving certificate (with --ca: of the CA too; the old CA stays in the
    bundle until it expires). The controller's leader carries it out; this waits until it is done
    (default 300 s; --timeout 0 only requests it). Only for a Secret Redline manages.
`;

export interface CertsIo {
  stdout?: Pick<Writable, 'write'>;
  stderr?: Pick<Writable, 'write'>;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** Poll period of `rotate` while waiting (default 1 s). */
  pollMs?: number;
}

export async function runCerts(argv: string[], io: CertsIo = {}): Promise<number> {
  const [sub, ...rest] = argv;
  const stdout = io.stdout ?? process.stdout;
  if (!sub || sub === 'help' || sub === '--help' || sub === '-h') {
    stdout.write(CERTS_USAGE);
    return sub ? 0 : 2;
  }
  const run = sub === 'show' ? show : sub === 'rotate' ? rotate : undefined;
  if (!run) throw new RedlineError('usage', `unknown certs command ${JSON.stringify(sub)}\n\n${CERTS_USAGE}`);
  try {
    return await run(rest, io);
  } catch (e) {
    if (isRedlineError(e, 'usage')) throw e;
    // A runtime failure (cluster unreachable, kubeconfig unreadable, RBAC): exit 1, not bad usage.
    (io.stderr ?? process.stderr).write(`redline certs ${sub}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** Entry for `node -e "import('./dist/cli/certs.js').then(m => m.main(process.argv.slice(1)))"`. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await runCerts(argv);
  } catch (e) {
    process.stderr.write(`redline: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(argv: string[], options: T, what: string) {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (r.positionals.length) throw new RedlineError('usage', `redline certs ${what}: unexpected argument ${JSON.stringify(r.positionals[0])}\n\n${CERTS_USAGE}`);
    return r.values as { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean };
  } catch (e) {
    if (isRedlineError(e, 'usage')) throw e;
    throw new RedlineError('usage', `redline certs ${what}: ${e instanceof Error ? e.message : String(e)}\n\n${CERTS_USAGE}`);
  }
}

const CLUSTER_FLAGS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  secret: { type: 'string' },
} as const;


async function clusterStore(v: { kubeconfig?: string; namespace?: string; secret?: string }, io: CertsIo, what: string) {
  const namespace = v.namespace ?? CERT_SECRET_DEFAULTS.namespace;
  const secret = v.secret ?? CERT_SECRET_DEFAULTS.secretName;
  if (!isDnsLabel(namespace)) throw new RedlineError('usage', `redline certs ${what}: --namespace ${JSON.stringify(namespace)} is not a namespace name`);
  if (!isDnsSubdomain(secret)) throw new RedlineError('usage', `redline certs ${what}: --secret ${JSON.stringify(secret)} is not a Secret name`);
  const access = resolveClusterAccess({ kubeconfig: v.kubeconfig ?? null, env: io.env ?? process.env });
  if (!access) throw new RedlineError('usage', `redline certs ${what}: no cluster: pass --kubeconfig FILE, set KUBECONFIG, or run in a cluster (or use --dir DIR)`);
  const api = await KubeApi.create({ kubeConfig: loadKubeConfig(access), timeoutMs: 15_000 });
  return { api, store: new KubeSecretStore(api, namespace, secret) };
}

// ------------------------------------------------------------------------------------------- show

export interface CertificateView {
  subject: string;
  issuer: string;
  serial: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
}

export interface ShowReport {
  source: string;
  /** redline: the controller issues and renews it; external: its owner does (e.g. cert-manager); unknown: files. */
  managedBy: 'redline' | 'external' | 'unknown';
  serving:
    | (CertificateView & {
        ready: boolean;
        status: string;
        /** When Redline renews it (2/3 of its lifetime by default); null when not Redline's. */
        renewalAt: string | null;
        /** Serial of the bundle CA that signed it; null when none does. */
        issuedBy: string | null;
      })
    | null;
  problem: string | null;
  caBundle: Array<CertificateView & { current: boolean; expired: boolean }>;
  rotationRequested: string | null;
}

function view(i: CertInfo): CertificateView {
  return {
    subject: i.subject,
    issuer: i.issuer,
    serial: i.serialHex,
    dnsNames: i.dnsNames,
    ipAddresses: i.ipAddresses,
    notBefore: i.notBefore.toISOString(),
    notAfter: i.notAfter.toISOString(),
    fingerprintSha256: i.fingerprintSha256,
  };
}

/** Builds the report from PEM texts (any of them may be missing or broken). */
export function buildReport(input: {
  source: string;
  managedBy: ShowReport['managedBy'];
  certPem: string | undefined;
  keyPem: string | undefined;
  /** ca-bundle.crt, else ca.crt. */
  bundlePem: string | undefined;
  /** ca.crt: the current CA (first in the bundle when the bundle is absent). */
  caPem: string | undefined;
  rotationRequested?: string | null;
  now: Date;
}): ShowReport {
  const { now } = input;
  const bundle = splitPemBundle(input.bundlePem ?? input.caPem ?? '');
  const currentCa = tryParseCertificate(splitPemBundle(input.caPem ?? '')[0] ?? '');
  const caBundle = bundle.flatMap((pem) => {
    const i = tryParseCertificate(pem);
    return i ? [{ ...view(i), current: currentCa?.fingerprintSha256 === i.fingerprintSha256, expired: now.getTime() >= i.notAfter.getTime() }] : [];
  });
  const leafPem = splitPemBundle(input.certPem ?? '')[0];
  const leaf = leafPem ? tryParseCertificate(leafPem) : null;
  let problem: string | null = null;
  let serving: ShowReport['serving'] = null;
  if (!input.certPem) problem = `"${SECRET_KEYS.servingCert}" is missing`;
  else if (!leaf || !leafPem) problem = `"${SECRET_KEYS.servingCert}" does not contain a readable certificate`;
  else {
    const st = servingStatus(input.certPem, input.keyPem, now);
    const signer = bundle.find((ca) => isIssuedBy(leafPem, ca));
    serving = {
      ...view(leaf),
      ready: st.ready,
      status: st.reason,
      renewalAt: input.managedBy === 'external' ? null : renewalTime(leaf, DEFAULT_RENEW_FRACTION).toISOString(),
      issuedBy: signer ? (tryParseCertificate(signer)?.serialHex ?? null) : null,
    };
    if (!st.ready) problem = st.reason;
    // (A mounted Secret may carry only tls.crt and tls.key: no bundle, nothing to check against.)
    else if (!signer && bundle.length > 0) problem = 'no CA of the bundle signed the serving certificate: clients trusting the bundle will refuse it';
  }
  return { source: input.source, managedBy: input.managedBy, serving, problem, caBundle, rotationRequested: input.rotationRequested ?? null };
}

/** "89d 23h", "5h 02m", "42s"; negative: "expired 3d 4h ago" is the caller's business. */
export function duration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function until(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  return ms >= 0 ? `${duration(ms)} left` : `expired ${duration(ms)} ago`;
}

export function formatReport(r: ShowReport, now: Date): string {
  const out: string[] = [];
  const owner = { redline: 'managed by Redline', external: 'managed externally (Redline serves it, never rotates it)', unknown: 'files' }[r.managedBy];
  out.push(`${r.source} (${owner})`);
  if (r.rotationRequested) out.push(`  rotation requested: ${r.rotationRequested} (the controller's leader carries it out)`);
  out.push('', 'Serving certificate');
  const s = r.serving;
  if (!s) out.push(`  none: ${r.problem ?? 'missing'}`);
  else {
    out.push(`  subject:      ${s.subject}`);
    out.push(`  issuer:       ${s.issuer}${s.issuedBy ? ` (CA serial ${s.issuedBy})` : ''}`);
    out.push(`  DNS names:    ${s.dnsNames.join(', ') || '-'}`);
    out.push(`  IP addresses: ${s.ipAddresses.join(', ') || '-'}`);
    out.push(`  serial:       ${s.serial}`);
    out.push(`  not before:   ${s.notBefore}`);
    out.push(`  not after:    ${s.notAfter} (${until(s.notAfter, now)})`);
    if (s.renewalAt) {
      const ms = Date.parse(s.renewalAt) - now.getTime();
      out.push(`  renewal:      ${s.renewalAt} (${ms >= 0 ? `in ${duration(ms)}` : `due since ${duration(ms)}`}; at 2/3 of its lifetime, the default)`);
    } else out.push('  renewal:      by its owner');
    out.push(`  status:       ${s.ready ? 'OK' : 'NOT USABLE'}: ${s.status}`);
    if (r.problem && s.ready) out.push(`  problem:      ${r.problem}`);
  }
  out.push('', `CA bundle (${r.caBundle.length})`);
  if (r.caBundle.length === 0) out.push('  none (no ca-bundle.crt or ca.crt): the chain is not checked');
  for (const ca of r.caBundle) {
    const tags = [ca.current ? 'current' : 'previous', ...(s?.issuedBy === ca.serial ? ['signed the serving certificate'] : []), ...(ca.expired ? ['EXPIRED'] : [])];
    out.push(`  - ${ca.subject}  [${tags.join(', ')}]`);
    out.push(`    serial ${ca.serial}; not after ${ca.notAfter} (${until(ca.notAfter, now)})`);
  }
  return `${out.join('\n')}\n`;
}

/** One key of the Secret as text, through the Secret's one reader (certs/secret.ts). */
function text(data: Record<string, string>, key: SecretKey): string | undefined {
  return textOf(readSecretTexts(data), key);
}

function managedBy(snap: SecretSnapshot): ShowReport['managedBy'] {
  return snap.labels[LABEL_MANAGED_BY] === MANAGED_BY_REDLINE ? 'redline' : 'external';
}

export function reportFromSecret(snap: SecretSnapshot, now: Date): ShowReport {
  const d = snap.data;
  const requested = snap.annotations[ANNOTATION_ROTATE];
  return buildReport({
    source: `Secret ${snap.namespace}/${snap.name}`,
    managedBy: managedBy(snap),
    certPem: text(d, SECRET_KEYS.servingCert),
    keyPem: text(d, SECRET_KEYS.servingKey),
    bundlePem: text(d, SECRET_KEYS.caBundle),
    caPem: text(d, SECRET_KEYS.caCert),
    rotationRequested: requested ? `${requested}${snap.annotations[ANNOTATION_ROTATE_REQUESTED_AT] ? ` at ${snap.annotations[ANNOTATION_ROTATE_REQUESTED_AT]}` : ''}` : null,
    now,
  });
}

async function show(argv: string[], io: CertsIo): Promise<number> {
  const v = parse(argv, { ...CLUSTER_FLAGS, dir: { type: 'string' }, output: { type: 'string' } }, 'show');
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  if (v.help) {
    stdout.write(CERTS_USAGE);
    return 0;
  }
  const output = v.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new RedlineError('usage', `redline certs show: --output must be text or json, got ${JSON.stringify(output)}`);
  const now = (io.now ?? (() => new Date()))();
  let report: ShowReport;
  if (v.dir !== undefined) {
    if (v.kubeconfig !== undefined || v.namespace !== undefined || v.secret !== undefined) {
      throw new RedlineError('usage', 'redline certs show: --dir reads files; it cannot be combined with --kubeconfig, --namespace or --secret');
    }
    const { readFile } = await import('node:fs/promises');
    const { join, resolve } = await import('node:path');
    const dir = resolve(v.dir);
    const read = async (name: string) => readFile(join(dir, name), 'utf8').catch(() => undefined);
    const [certPem, keyPem, bundlePem, caPem] = await Promise.all([read('tls.crt'), read('tls.key'), read('ca-bundle.crt'), read('ca.crt')]);
    if (certPem === undefined && keyPem === undefined && bundlePem === undefined && caPem === undefined) {
      stderr.write(`redline certs show: no tls.crt, tls.key, ca-bundle.crt or ca.crt in ${dir}\n`);
      return 1;
    }
    report = buildReport({ source: `directory ${dir}`, managedBy: 'unknown', certPem, keyPem, bundlePem, caPem, now });
  } else {
    const { api, store } = await clusterStore(v, io, 'show');
    try {
      const snap = await store.read();
      if (!snap) {
        stderr.write(`redline certs show: Secret ${store.namespace}/${store.name} not found (the controller creates it; in external mode its owner does)\n`);
        return 1;
      }
      report = reportFromSecret(snap, now);
    } finally {
      api.close();
    }
  }
  stdout.write(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, now));
  return report.serving?.ready && report.problem === null ? 0 : 1;
}

// ----------------------------------------------------------------------------------------- rotate

function fingerprintOf(data: Record<string, string>, key: SecretKey): string | null {
  const pem = splitPemBundle(text(data, key) ?? '')[0];
  return pem ? (tryParseCertificate(pem)?.fingerprintSha256 ?? null) : null;
}

async function rotate(argv: string[], io: CertsIo): Promise<number> {
  const v = parse(argv, { ...CLUSTER_FLAGS, ca: { type: 'boolean' }, timeout: { type: 'string' } }, 'rotate');
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  if (v.help) {
    stdout.write(CERTS_USAGE);
    return 0;
  }
  const timeoutText = v.timeout ?? '300';
  if (!/^\d+$/.test(timeoutText)) throw new RedlineError('usage', `redline certs rotate: --timeout must be a number of seconds, got ${JSON.stringify(timeoutText)}`);
  const timeoutMs = Number(timeoutText) * 1000;
  const what = v.ca ? 'ca' : 'serving';
  const now = io.now ?? (() => new Date());
  const { api, store } = await clusterStore(v, io, 'rotate');
  try {
    const before = await store.read();
    if (!before) {
      stderr.write(`redline certs rotate: Secret ${store.namespace}/${store.name} not found (is the controller running?)\n`);
      return 1;
    }
    if (managedBy(before) !== 'redline') {
      stderr.write(
        `redline certs rotate: Secret ${store.namespace}/${store.name} is not managed by Redline (no label ${LABEL_MANAGED_BY}=${MANAGED_BY_REDLINE}): ` +
          'rotate it with its owner (cert-manager: cmctl renew)\n',
      );
      return 1;
    }
    const oldServing = fingerprintOf(before.data, SECRET_KEYS.servingCert);
    const oldCa = fingerprintOf(before.data, SECRET_KEYS.caCert);
    const requestedAt = now().toISOString();
    await api.mergePatch(
      `/api/v1/namespaces/${encodeURIComponent(store.namespace)}/secrets/${encodeURIComponent(store.name)}`,
      { metadata: { annotations: { [ANNOTATION_ROTATE]: what, [ANNOTATION_ROTATE_REQUESTED_AT]: requestedAt } } },
      'redline-certs-cli',
    );
    stdout.write(`requested rotation of the ${what === 'ca' ? 'CA and the serving certificate' : 'serving certificate'} of Secret ${store.namespace}/${store.name}\n`);
    if (timeoutMs === 0) return 0;
    const deadline = Date.now() + timeoutMs;
    let saidCa = false;
    for (;;) {
      await new Promise((r) => setTimeout(r, io.pollMs ?? 1000));
      const snap = await store.read().catch((e: unknown) => {
        stderr.write(`redline certs rotate: reading the Secret failed (retrying): ${e instanceof Error ? e.message : String(e)}\n`);
        return undefined;
      });
      if (snap === null) {
        stderr.write(`redline certs rotate: Secret ${store.namespace}/${store.name} was deleted meanwhile\n`);
        return 1;
      }
      if (snap) {
        const ca = fingerprintOf(snap.data, SECRET_KEYS.caCert);
        const serving = fingerprintOf(snap.data, SECRET_KEYS.servingCert);
        const pending = snap.annotations[ANNOTATION_ROTATE] !== undefined;
        if (what === 'ca' && ca !== oldCa && !saidCa) {
          saidCa = true;
          const r = reportFromSecret(snap, now());
          const current = r.caBundle.find((c) => c.current);
          stdout.write(
            `new CA ${current?.serial ?? '?'} (until ${current?.notAfter ?? '?'}) is in the bundle with ${r.caBundle.length - 1} previous CA(s); ` +
              'the serving certificate follows once the bundle has been injected and rolled out\n',
          );
        }
        const servingDone = serving !== oldServing && (what !== 'ca' || (ca !== oldCa && isSignedByCurrentCa(snap)));
        if (!pending && servingDone) {
          const r = reportFromSecret(snap, now());
          stdout.write(`rotated: serving certificate ${r.serving?.serial ?? '?'} (until ${r.serving?.notAfter ?? '?'})\n\n`);
          stdout.write(formatReport(r, now()));
          return 0;
        }
      }
      if (Date.now() >= deadline) {
        stderr.write(
          `redline certs rotate: not done after ${timeoutText} s; is \`redline controller\` running (certs enabled, mode managed) and does one replica hold the lease? ` +
            `The request stays on the Secret (${ANNOTATION_ROTATE}) and is carried out when the leader sees it.\n`,
        );
        return 1;
      }
    }
  } finally {
    api.close();
  }
}

function isSignedByCurrentCa(snap: SecretSnapshot): boolean {
  const leaf = splitPemBundle(text(snap.data, SECRET_KEYS.servingCert) ?? '')[0];
  const ca = splitPemBundle(text(snap.data, SECRET_KEYS.caCert) ?? '')[0];
  return leaf !== undefined && ca !== undefined && isIssuedBy(leaf, ca);
}
