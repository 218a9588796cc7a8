// The one call that wires a CertManager to the controller's API client (KubeApi: its rate limiter
// and leader write gate apply to every call) from the controller's certificate settings
// (core/settings/certs.ts). The caller calls `start({ isLeader })` and `stop()`.

import type { Registry } from 'prom-client';
import { assertCertSettings, type CertSettings } from '../core/settings/certs.js';
import { KubeCaBundleInjector } from './inject.js';
import { CertManager, type CertLogger } from './manager.js';
import { KubeSecretStore, type KubeRequester } from './secret-store.js';
import type { KeyPairPem } from './x509.js';

export function createCertManager(opts: {
  api: KubeRequester;
  settings: CertSettings;
  logger?: CertLogger;
  registry?: Registry;
  isLeader?: () => boolean;
  generateKeyPair?: () => Promise<KeyPairPem>;
}): CertManager {
  const s = opts.settings;
  assertCertSettings(s, { complete: true });
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
