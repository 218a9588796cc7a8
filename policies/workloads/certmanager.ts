// cert-manager.io/v1 Certificate: not a workload, but a tenant's Certificates are reviewed (issuer,
// isCA, names), and the Secret it writes (spec.secretName) is one the tenant may read.

import { isDnsLabel } from '../../core/names.js';
import type { Json } from '../engine/types.js';
import { issuerRef, namespaceRefs } from './refs.js';
import { summarise } from './summary.js';
import { type Recognition, type WorkloadAdapter, list, obj, str } from './view.js';

const strings = (value: Json | undefined): string[] => list(value).map(str);

const certificateAdapter: WorkloadAdapter = {
  apiVersions: ['cert-manager.io/v1'],
  kind: 'Certificate',
  recognise(object): Recognition {
    const meta = obj(object['metadata']);
    const spec = obj(object['spec']);
    const secretName = str(spec['secretName']);
    const view = summarise({
      apiVersion: str(object['apiVersion']), kind: 'Certificate', engine: 'cert-manager', role: 'certificate', redis: false,
      name: str(meta['name']), namespace: str(meta['namespace']),
      mode: '', shards: 0, podsPerShard: 0, pods: 0, version: '',
      storage: { size: '', storageClass: '', ephemeral: false, known: false },
      tls: { enabled: false, detail: '' },
      podTemplates: [],
      secretRefs: secretName ? [{ path: 'spec.secretName', name: secretName, implied: false }] : [],
      issuerRefs: [issuerRef(spec['issuerRef'], 'spec.issuerRef')],
      namespaceRefs: namespaceRefs(spec, 'spec'),
      certificate: {
        secretName,
        isCA: spec['isCA'] === true,
        commonName: str(spec['commonName']),
        dnsNames: strings(spec['dnsNames']),
        ipAddresses: strings(spec['ipAddresses']),
        uris: strings(spec['uris']),
        emailAddresses: strings(spec['emailAddresses']),
        usages: strings(spec['usages']),
        // single DNS labels: what resolves as a short Service name
        dnsLabels: [...strings(spec['dnsNames']), str(spec['commonName'])].filter(isDnsLabel),
      },
    });
    return { redis: true, result: { view, slots: [], mutable: false } };
  },
};

export const certManagerAdapters: WorkloadAdapter[] = [certificateAdapter];
