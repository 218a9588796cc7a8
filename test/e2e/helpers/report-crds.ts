// The report CRDs as the bundle ships them (real upstream schemas: the API server validates every
// report Redline writes), installed on an e2e control plane and waited for.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { type KubeApi, type KubeObject } from '../../../kube/api-client.js';
import { ROOT, until } from '../../bench/bootstrap-harness.js';

export const REPORT_CRD_FILES = [
  path.join(ROOT, 'manifests', 'base', 'crds', 'openreports.io_reports.yaml'),
  path.join(ROOT, 'manifests', 'policy-reporter', 'wgpolicyk8s.io_policyreports.yaml'),
];

export async function installReportCrds(admin: KubeApi): Promise<void> {
  const crds = REPORT_CRD_FILES.flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(f, 'utf8')).map((d) => d.toJS() as KubeObject).filter(Boolean));
  for (const crd of crds) await admin.apply(crd, 'customresourcedefinitions', { force: true, fieldManager: 'redline-e2e-admin' });
  for (const crd of crds) {
    const spec = crd['spec'] as { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
    await until(`CRD ${crd.metadata.name} established`, async () => {
      const c = await admin.get<KubeObject>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      return ((c['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True');
    }, 30_000);
    for (const v of spec.versions.filter((x) => x.served)) {
      await until(`${spec.names.plural}.${spec.group}/${v.name} served`, async () => {
        try {
          await admin.get(`/apis/${spec.group}/${v.name}/${spec.names.plural}?limit=1`);
          return true;
        } catch {
          return false;
        }
      }, 30_000, 100);
    }
  }
}
