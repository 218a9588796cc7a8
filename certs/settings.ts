// Settings of the controller's certificate part (`controller.certs.*`) and the one call that wires a
// CertManager to the controller's API client. The rows have the shape of bootstrap/settings.ts's
// ControllerSetting (path relative to `controller.`), so they can be appended to that table and get
// the same parsing, validation, --help and README treatment.

import type { Registry } from 'prom-client';
import type { Setting } from '../cli/settings.js';
import { RedlineError } from '../core/errors.js';
import { CERT_SECRET_DEFAULTS } from '../core/vocabulary.js';
import { DEFAULT_CA_LIFETIME_MS, DEFAULT_RENEW_FRACTION, DEFAULT_SERVING_LIFETIME_MS } from './authority.js';
import { KubeCaBundleInjector } from './inject.js';
import { CERT_MANAGER_DEFAULTS, CertManager, type CertLogger, type CertMode } from './manager.js';
import { KubeSecretStore, type KubeRequester } from './secret-store.js';
import type { KeyPairPem } from './x509.js';

export interface CertSettings {
  enabled: boolean;
  mode: CertMode;
  inject: boolean;
  namespace: string;
  secretName: string;
  serviceName: string;
  validatingWebhookConfiguration: string;
  mutatingWebhookConfiguration: string;
  caLifetimeMs: number;
  servingLifetimeMs: number;
  renewFraction: number;
  checkIntervalMs: number;
  resyncMs: number;
  caRolloutDelayMs: number;
  /** Extra SANs (config file only). */
  extraDnsNames: string[];
  ipAddresses: string[];
}

export const DEFAULT_CERT_SETTINGS: Readonly<CertSettings> = Object.freeze({
  enabled: true,
  mode: CERT_MANAGER_DEFAULTS.mode,
  inject: CERT_MANAGER_DEFAULTS.inject,
  ...CERT_SECRET_DEFAULTS,
  validatingWebhookConfiguration: 'redline',
  mutatingWebhookConfiguration: 'redline',
  caLifetimeMs: DEFAULT_CA_LIFETIME_MS,
  servingLifetimeMs: DEFAULT_SERVING_LIFETIME_MS,
  renewFraction: DEFAULT_RENEW_FRACTION,
  checkIntervalMs: CERT_MANAGER_DEFAULTS.checkIntervalMs,
  resyncMs: CERT_MANAGER_DEFAULTS.resyncMs,
  caRolloutDelayMs: CERT_MANAGER_DEFAULTS.caRolloutDelayMs,
  extraDnsNames: [] as string[],
  ipAddresses: [] as string[],
});

/** A row of the controller's settings table (cli/settings.ts). */
export type CertSettingRow = Setting;

const DAY = 86_400_000;
const d = DEFAULT_CERT_SETTINGS;

export const CERT_SETTINGS: readonly CertSettingRow[] = Object.freeze([
  { path: 'certs.enabled', kind: 'bool', env: 'REDLINE_CONTROLLER_CERTS', flag: '--certs', default: d.enabled, doc: 'manage the webhook serving certificate Secret and the caBundle of the webhook configurations' },
  { path: 'certs.mode', kind: 'enum', values: ['managed', 'external'], env: 'REDLINE_CONTROLLER_CERTS_MODE', flag: '--certs-mode', default: d.mode, doc: 'managed: Redline issues and rotates a CA + serving certificate; external: the Secret is cert-manager\'s or yours (never written)' },
  { path: 'certs.inject', kind: 'bool', env: 'REDLINE_CONTROLLER_CERTS_INJECT', flag: '--certs-inject', default: d.inject, doc: 'server-side apply caBundle (field manager redline-cainjector) into the webhook configurations; off: leave it to cert-manager\'s cainjector' },
  { path: 'certs.namespace', kind: 'name', env: 'REDLINE_CONTROLLER_CERTS_NAMESPACE', flag: '--certs-namespace', default: d.namespace, doc: 'namespace of the Secret and of the webhook Service' },
  { path: 'certs.secretName', kind: 'name', env: 'REDLINE_CONTROLLER_CERTS_SECRET', flag: '--certs-secret', default: d.secretName, doc: 'the Secret (kubernetes.io/tls: tls.crt, tls.key, ca.crt, ca.key, ca-bundle.crt)' },
  { path: 'certs.serviceName', kind: 'name', env: 'REDLINE_CONTROLLER_CERTS_SERVICE', flag: '--certs-service', default: d.serviceName, doc: 'webhook Service: the certificate is for <service>, <service>.<ns>, <service>.<ns>.svc, <service>.<ns>.svc.cluster.local' },
  { path: 'certs.validatingWebhookConfiguration', kind: 'name', env: 'REDLINE_CONTROLLER_VALIDATING_WEBHOOK', flag: '--validating-webhook', default: d.validatingWebhookConfiguration, doc: 'ValidatingWebhookConfiguration whose every webhook gets the caBundle' },
  { path: 'certs.mutatingWebhookConfiguration', kind: 'name', env: 'REDLINE_CONTROLLER_MUTATING_WEBHOOK', flag: '--mutating-webhook', default: d.mutatingWebhookConfiguration, doc: 'MutatingWebhookConfiguration whose every webhook gets the caBundle' },
  { path: 'certs.caLifetimeMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_CA_LIFETIME_MS', default: d.caLifetimeMs, min: DAY, max: 20 * 365 * DAY, doc: 'CA lifetime (default 5 years); renewed at renewFraction, the old CA stays trusted until it expires' },
  { path: 'certs.servingLifetimeMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_SERVING_LIFETIME_MS', default: d.servingLifetimeMs, min: 3_600_000, max: 5 * 365 * DAY, doc: 'serving certificate lifetime (default 90 days), never past the CA\'s' },
  { path: 'certs.renewFraction', kind: 'number', env: 'REDLINE_CONTROLLER_CERTS_RENEW_FRACTION', default: d.renewFraction, min: 0.1, max: 0.9, doc: 'renew a certificate once this fraction of its lifetime has passed (default 2/3)' },
  { path: 'certs.checkIntervalMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_CHECK_INTERVAL_MS', default: d.checkIntervalMs, min: 1_000, max: 600_000, doc: 'wall-clock poll: the leader reads the Secret this often and acts when something is due or changed' },
  { path: 'certs.resyncMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_RESYNC_MS', default: d.resyncMs, min: 10_000, max: DAY, doc: 'full check (Secret + caBundle of every webhook) at least this often' },
  { path: 'certs.caRolloutDelayMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_CA_ROLLOUT_DELAY_MS', default: d.caRolloutDelayMs, min: 0, max: 3_600_000, doc: 'CA rotation: time between injecting the bundle with the new CA and switching the serving certificate to it' },
] satisfies CertSettingRow[]);

/** Cross-field checks the per-field table cannot do; returns problems as `controller.certs.<field>: message`. */
export function checkCertSettings(s: CertSettings): string[] {
  const problems: string[] = [];
  if (s.servingLifetimeMs >= s.caLifetimeMs) problems.push('controller.certs.servingLifetimeMs: must be shorter than certs.caLifetimeMs');
  if (s.mode === 'managed' && s.servingLifetimeMs * (1 - s.renewFraction) <= s.caRolloutDelayMs + 2 * s.checkIntervalMs) {
    problems.push('controller.certs.caRolloutDelayMs: must leave time before a serving certificate expires (lower it or raise servingLifetimeMs)');
  }
  return problems;
}

/**
 * A CertManager on the controller's API client (KubeApi: its rate limiter and leader write gate
 * apply to every call). The controller calls `start({ isLeader })` and `stop()`.
 */
export function createCertManager(opts: {
  api: KubeRequester;
  settings: CertSettings;
  logger?: CertLogger;
  registry?: Registry;
  isLeader?: () => boolean;
  generateKeyPair?: () => Promise<KeyPairPem>;
}): CertManager {
  const s = opts.settings;
  const problems = checkCertSettings(s);
  if (problems.length) throw new RedlineError('config-invalid', `invalid certificate settings:\n  - ${problems.join('\n  - ')}`);
  return new CertManager({
    mode: s.mode,
    inject: s.inject,
    authority: {
      serviceName: s.serviceName,
      namespace: s.namespace,
      extraDnsNames: s.extraDnsNames,
      ipAddresses: s.ipAddresses,
      caLifetimeMs: s.caLifetimeMs,
      servingLifetimeMs: s.servingLifetimeMs,
      renewFraction: s.renewFraction,
    },
    store: new KubeSecretStore(opts.api, s.namespace, s.secretName),
    ...(s.inject
      ? { injector: new KubeCaBundleInjector(opts.api, { validating: s.validatingWebhookConfiguration, mutating: s.mutatingWebhookConfiguration }) }
      : {}),
    checkIntervalMs: s.checkIntervalMs,
    resyncMs: s.resyncMs,
    caRolloutDelayMs: s.caRolloutDelayMs,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.isLeader ? { isLeader: opts.isLeader } : {}),
    ...(opts.generateKeyPair ? { generateKeyPair: opts.generateKeyPair } : {}),
  });
}
