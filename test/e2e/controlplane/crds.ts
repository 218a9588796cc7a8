/**
 * The real upstream CRDs (shared/crds/) of the kinds Redline handles, reduced so a v1.20 API server
 * accepts them quickly: same group, names, scope and served versions (one storage version), but
 * every schema is `{type: object, x-kubernetes-preserve-unknown-fields: true}`. Files are read
 * strictly (readCrdFile): the two upstream files that are not strict YAML are repaired explicitly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import YAML from 'yaml';
import { sleep } from '../../helpers/wait.js';

/** group -> kinds taken from shared/crds/ */
export const REDUCED_CRD_KINDS: Readonly<Record<string, readonly string[]>> = {
  'kubedb.com': ['Redis', 'RedisSentinel'],
  'redis.redis.opstreelabs.in': ['Redis', 'RedisCluster', 'RedisReplication', 'RedisSentinel'],
  'apps.k8s.appscode.com': ['PetSet'],
  'cert-manager.io': ['Certificate', 'Issuer', 'ClusterIssuer', 'CertificateRequest'],
  'app.redislabs.com': ['RedisEnterpriseCluster', 'RedisEnterpriseDatabase', 'RedisEnterpriseActiveActiveDatabase', 'RedisEnterpriseRemoteCluster'],
  'databases.spotahome.com': ['RedisFailover'],
};

/** What readCrdFile had to change in a file that is not strict YAML (empty for a clean file). */
export interface CrdRepair {
  line: number;
  what: 'helm-template-line' | 'quoted-scalar-indent';
  text: string;
}

/** Does a single-quoted YAML scalar whose text after the opening quote is `rest` stay open past this line? */
function singleQuoteStaysOpen(rest: string): boolean {
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] !== "'") continue;
    if (rest[i + 1] === "'") {
      i++; // '' is an escaped quote
      continue;
    }
    return false;
  }
  return true;
}

/**
 * Two published CRDs are not strict YAML, and a lenient parse reads them wrong instead of failing:
 *  - Spotahome's chart file keeps Helm lines (`{{- with .Values.crds.annotations }}`): a YAML parser
 *    reads them as flow mappings and makes junk annotation keys. Lines that are nothing but a
 *    template action are dropped (as `helm template` with no crds.annotations renders them).
 *  - The REC CRD continues a single-quoted description at its key's own indentation
 *    (`redisEnterpriseVolumeMounts.description: '... containers.` / `More info: https://...'`);
 *    the yaml package then ends the scalar early and invents a key "More info". Such continuation
 *    lines are indented under their key (a quoted scalar folds the line break into a space anyway).
 * Every repair is returned, and a document that still has a parse error throws: a schema is
 * never loaded from a guess.
 */
export function repairCrdText(text: string): { text: string; repairs: CrdRepair[] } {
  const out: string[] = [];
  const repairs: CrdRepair[] = [];
  let openAt = -1; // indentation of the key whose single-quoted value is still open
  text.split('\n').forEach((line, i) => {
    if (openAt < 0 && /^\s*\{\{.*\}\}\s*$/.test(line)) {
      repairs.push({ line: i + 1, what: 'helm-template-line', text: line.trim() });
      return;
    }
    if (openAt >= 0) {
      const indent = line.length - line.trimStart().length;
      if (line.trim() !== '' && indent <= openAt) {
        repairs.push({ line: i + 1, what: 'quoted-scalar-indent', text: line.trim() });
        out.push(' '.repeat(openAt + 2) + line.trimStart());
      } else {
        out.push(line);
      }
      if (!singleQuoteStaysOpen(line)) openAt = -1;
      return;
    }
    out.push(line);
    const m = /^(\s*)(?:- )?[\w$.-]+: '(.*)$/.exec(line);
    if (m && singleQuoteStaysOpen(m[2] ?? '')) openAt = (m[1] ?? '').length;
  });
  return { text: out.join('\n'), repairs };
}

/** The CustomResourceDefinitions of one file, read strictly after repairCrdText; throws on any parse error. */
export function readCrdFile(file: string): { crds: Record<string, any>[]; repairs: CrdRepair[] } {
  const { text, repairs } = repairCrdText(fs.readFileSync(file, 'utf8'));
  const crds: Record<string, any>[] = [];
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new Error(`${file}: not valid YAML even after ${repairs.length} repair(s): ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const obj = doc.toJS({ maxAliasCount: -1 }) as Record<string, any> | null;
    if (obj?.kind === 'CustomResourceDefinition') crds.push(obj);
  }
  return { crds, repairs };
}

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: unknown;
  subresources?: { status?: object; scale?: object };
  additionalPrinterColumns?: Array<Record<string, unknown>>;
}

export interface ReducedCrd extends KubernetesObject {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: Record<string, unknown>;
    scope: string;
    versions: CrdVersion[];
  };
}

/** Walks up from this file to the directory holding package.json (works from src and from dist/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'redline-redis') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the redline repo root (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** shared/crds/ beside the repo (env REDLINE_SHARED_CRDS overrides). */
export function sharedCrdsDir(): string {
  return process.env.REDLINE_SHARED_CRDS || path.resolve(repoRoot(), '..', 'shared', 'crds');
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

const PRINTER_COLUMN_KEYS = ['name', 'type', 'format', 'description', 'priority', 'jsonPath'];

function reduceVersion(v: Record<string, unknown>): CrdVersion {
  const out: CrdVersion = {
    name: String(v.name),
    served: v.served === true,
    storage: v.storage === true,
    schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
  };
  const sub = v.subresources as { status?: object; scale?: object } | undefined;
  if (sub && (sub.status || sub.scale)) {
    out.subresources = {};
    if (sub.status) out.subresources.status = {};
    if (sub.scale) out.subresources.scale = sub.scale;
  }
  const cols = v.additionalPrinterColumns as Array<Record<string, unknown>> | undefined;
  if (Array.isArray(cols) && cols.length) {
    // plain columns only (name/type/jsonPath...): all understood by 1.20
    out.additionalPrinterColumns = cols.map((c) =>
      Object.fromEntries(Object.entries(c).filter(([k]) => PRINTER_COLUMN_KEYS.includes(k))),
    );
  }
  return out;
}

let cache: ReducedCrd[] | undefined;

/** The reduced CRDs (fresh deep copies on every call). Throws if one of the expected kinds is missing. */
export function reducedCrds(): ReducedCrd[] {
  if (!cache) {
    const dir = sharedCrdsDir();
    if (!fs.existsSync(dir)) throw new Error(`shared CRDs not found at ${dir} (set REDLINE_SHARED_CRDS)`);
    const found = new Map<string, ReducedCrd>();
    for (const file of yamlFiles(dir)) {
      for (const obj of readCrdFile(file).crds) {
        const spec = obj.spec as Record<string, any>;
        const group = String(spec.group);
        const kind = String(spec.names?.kind);
        if (!REDUCED_CRD_KINDS[group]?.includes(kind)) continue;

        let versions: CrdVersion[];
        if (Array.isArray(spec.versions) && spec.versions.length) {
          versions = (spec.versions as Array<Record<string, unknown>>).map(reduceVersion).filter((v) => v.served);
        } else if (spec.version) {
          versions = [reduceVersion({ name: spec.version, served: true, storage: true, subresources: spec.subresources })];
        } else {
          throw new Error(`${file}: CRD ${kind}.${group} has no versions`);
        }
        // exactly one storage version among the served ones
        const storageIdx = Math.max(0, versions.findIndex((v) => v.storage));
        versions.forEach((v, i) => (v.storage = i === storageIdx));

        const names: Record<string, unknown> = {};
        for (const k of ['kind', 'listKind', 'plural', 'singular', 'shortNames', 'categories']) {
          if (spec.names?.[k] !== undefined) names[k] = spec.names[k];
        }
        found.set(`${kind}.${group}`, {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: `${String(spec.names.plural)}.${group}` },
          spec: { group, names, scope: String(spec.scope ?? 'Namespaced'), versions },
        });
      }
    }
    const missing = Object.entries(REDUCED_CRD_KINDS)
      .flatMap(([g, kinds]) => kinds.map((k) => `${k}.${g}`))
      .filter((k) => !found.has(k));
    if (missing.length) throw new Error(`CRDs missing in ${dir}: ${missing.join(', ')}`);
    cache = [...found.values()];
  }
  return structuredClone(cache);
}


/**
 * client-node's KubernetesObjectApi runs objects of kinds it knows (CustomResourceDefinition is one)
 * through its generated model serializer, which reads the model's property names: JSON-schema
 * extensions must be spelled `x_kubernetes_preserve_unknown_fields` there, and a wire-format
 * `x-kubernetes-preserve-unknown-fields` is silently DROPPED (the CRD then prunes every field).
 * Rename the extension keys of the schemas to the model names.
 */
export function crdForClientNode(crd: ReducedCrd): KubernetesObject {
  const rename = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rename);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [
          k.startsWith('x-kubernetes-') ? k.replace(/-/g, '_') : k === '$ref' ? '_ref' : k === '$schema' ? '_schema' : k,
          rename(x),
        ]),
      );
    }
    return v;
  };
  const copy = structuredClone(crd) as ReducedCrd;
  for (const v of copy.spec.versions) if (v.schema) v.schema = rename(v.schema);
  return copy;
}

/**
 * Server-side applies the reduced CRDs (field manager "redline-e2e") and waits until each is
 * Established and its served versions answer a list call (i.e. discovery knows them).
 */
export async function installCrds(kubeconfigPath: string, timeoutMs = 60_000): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const client = KubernetesObjectApi.makeApiClient(kc);
  const crds = reducedCrds();
  for (const crd of crds) {
    await client.patch(crdForClientNode(crd), undefined, undefined, 'redline-e2e', true, PatchStrategy.ServerSideApply);
  }

  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    let last = 'not read yet';
    for (;;) {
      try {
        const cur = (await client.read({
          apiVersion: crd.apiVersion,
          kind: crd.kind,
          metadata: { name: crd.metadata.name },
        })) as KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } };
        const conds = cur.status?.conditions ?? [];
        const est = conds.find((c) => c.type === 'Established');
        if (est?.status === 'True') break;
        last = JSON.stringify(conds);
      } catch (e) {
        last = String(e);
      }
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not Established after ${timeoutMs} ms: ${last}`);
      await sleep(100);
    }
  }

  // discovery: a fresh client per round, because KubernetesObjectApi caches discovery results
  for (const crd of crds) {
    for (const v of crd.spec.versions) {
      const apiVersion = `${crd.spec.group}/${v.name}`;
      const kind = String(crd.spec.names.kind);
      for (;;) {
        try {
          await KubernetesObjectApi.makeApiClient(kc).list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, undefined, 1);
          break;
        } catch (e) {
          if (Date.now() > deadline) throw new Error(`${kind} ${apiVersion} not served after ${timeoutMs} ms: ${String(e)}`);
          await sleep(100);
        }
      }
    }
  }
}
