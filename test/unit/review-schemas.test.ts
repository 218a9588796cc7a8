// Schema validation in `redline review`: the operators' CRD schemas shipped in policies/schemas/
// stay identical to upstream (shared/crds), every example validates, malformed fields are problems
// at their own line and column, the built-in kinds' schemas agree with kubernetes-models' full
// OpenAPI validators, and the ahead-of-time compiled validators agree with ajv compiling the JSON.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseDocuments, type SourceDocument } from '../../policies/engine/documents.js';
import { RECOGNISED_KINDS } from '../../policies/workloads/index.js';
import { KUBERNETES_SCHEMAS } from '../../policies/review/kubernetes-schemas.js';
import { AJV_OPTIONS, COMPILED_DIR, SCHEMAS_DIR, builtinFileOf, hasSchema, schemaFileOf, schemaProblems } from '../../policies/review/schemas.js';
import { schemaDifferences } from '../../scripts/crd-schemas.js';
import { sharedCrdsDir } from '../e2e/controlplane/crds.js';

const ROOT = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

function docsOf(text: string, file = 'input.yaml'): SourceDocument[] {
  const { docs, problems } = parseDocuments(file, text);
  expect(problems).toEqual([]);
  return docs;
}

function exampleDocs(): SourceDocument[] {
  const out: SourceDocument[] = [];
  for (const dir of ['good', 'bad']) {
    const folder = join(ROOT, 'manifests', 'examples', dir);
    for (const name of readdirSync(folder).sort()) out.push(...docsOf(readFileSync(join(folder, name), 'utf8'), `${dir}/${name}`));
  }
  return out;
}

describe('policies/schemas', () => {
  it('is exactly the upstream CRDs\' schemas without descriptions (run `npm run schemas:sync` when this fails)', () => {
    expect(existsSync(sharedCrdsDir()), `upstream CRDs expected at ${sharedCrdsDir()} (REDLINE_SHARED_CRDS)`).toBe(true);
    expect(schemaDifferences(sharedCrdsDir())).toEqual([]);
  });

  it('covers every kind review judges', () => {
    const missing = RECOGNISED_KINDS.filter((k) => !hasSchema(k.apiVersion, k.kind)).map((k) => `${k.apiVersion}/${k.kind}`);
    expect(missing).toEqual([]);
  });
});

describe('schemaProblems', () => {
  it('finds nothing wrong in the shipped examples', () => {
    const docs = exampleDocs();
    expect(docs.length).toBeGreaterThan(30);
    expect(docs.flatMap(schemaProblems)).toEqual([]);
  });

  it('names the file, line, column and field path of each malformed field of a CR, with what was expected', () => {
    const docs = docsOf([
      'apiVersion: kubedb.com/v1',
      'kind: Redis',
      'metadata: {name: cache}',
      'spec:',
      '  version: 7.2.4',
      '  mode: Standalon',
      '  replicas: "3"',
      '  podTemplate:',
      '    spec:',
      '      containers:',
      '        - name: redis',
      '          resources: {limits: {memory: lots}}',
    ].join('\n'), 'cache.yaml');
    expect(schemaProblems(docs[0]!)).toEqual([
      { file: 'cache.yaml', line: 6, column: 9, path: 'spec.mode', message: 'must be one of "Standalone", "Cluster", "Sentinel", not "Standalon" (the Redis kubedb.com/v1 schema)' },
      { file: 'cache.yaml', line: 7, column: 13, path: 'spec.replicas', message: 'must be an integer, not the string "3" (the Redis kubedb.com/v1 schema)' },
      {
        file: 'cache.yaml', line: 12, column: 40, path: 'spec.podTemplate.spec.containers[0].resources.limits.memory',
        message: 'must be a Kubernetes quantity such as 512Mi, 2Gi or 500m, not the string "lots" (the Redis kubedb.com/v1 schema)',
      },
    ]);
  });

  it('checks every operator\'s kinds against its own schema', () => {
    const cases: [string, string][] = [
      ['apiVersion: redis.redis.opstreelabs.in/v1beta2\nkind: RedisCluster\nmetadata: {name: c}\nspec:\n  clusterSize: "3"\n  kubernetesConfig: {image: redis}\n', 'spec.clusterSize'],
      ['apiVersion: app.redislabs.com/v1\nkind: RedisEnterpriseCluster\nmetadata: {name: rec}\nspec:\n  nodes: three\n', 'spec.nodes'],
      ['apiVersion: databases.spotahome.com/v1\nkind: RedisFailover\nmetadata: {name: f}\nspec:\n  redis: {replicas: "3"}\n  sentinel: {replicas: 3}\n', 'spec.redis.replicas'],
      ['apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\nspec:\n  secretName: s\n  isCA: "yes"\n  issuerRef: {name: i}\n', 'spec.isCA'],
      ['apiVersion: app.redislabs.com/v1alpha1\nkind: RedisEnterpriseDatabase\nmetadata: {name: d}\nspec:\n  shardCount: "2"\n', 'spec.shardCount'],
    ];
    for (const [text, path] of cases) {
      const problems = schemaProblems(docsOf(text)[0]!);
      expect(problems.map((p) => p.path), text).toEqual([path]);
      const key = `${path.split('.').at(-1)}:`;
      expect(problems[0]!.line).toBe(text.split('\n').findIndex((l) => l.includes(key)) + 1);
    }
  });

  it('reports a missing required field at its parent', () => {
    const [doc] = docsOf('apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\nspec:\n  isCA: false\n');
    expect(schemaProblems(doc!)).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'spec.secretName', line: 5, message: expect.stringContaining('required field is missing') }),
    ]));
  });

  it('checks what the adapters read of the built-in kinds', () => {
    const [sts] = docsOf([
      'apiVersion: apps/v1',
      'kind: StatefulSet',
      'metadata: {name: s}',
      'spec:',
      '  replicas: "3"',
      '  selector: {matchLabels: {app: redis}}',
      '  template:',
      '    spec:',
      '      hostNetwork: "yes"',
      '      containers:',
      '        - name: redis',
      '          ports: [{containerPort: "6379"}]',
      '          resources: {limits: {memory: lots, cpu: 2}}',
      '          securityContext: {runAsUser: root}',
    ].join('\n'));
    expect(schemaProblems(sts!).map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
      '5:13 spec.replicas',
      '9:20 spec.template.spec.hostNetwork',
      '12:35 spec.template.spec.containers[0].ports[0].containerPort',
      '13:40 spec.template.spec.containers[0].resources.limits.memory',
      '14:40 spec.template.spec.containers[0].securityContext.runAsUser',
    ]);
    const [pdb] = docsOf('apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec:\n  maxUnavailable: [1]\n');
    expect(schemaProblems(pdb!)).toEqual([expect.objectContaining({ path: 'spec.maxUnavailable', message: 'must be an integer or a string, not a list (the PodDisruptionBudget policy/v1 schema)' })]);
  });

  it('leaves kinds without a schema alone', () => {
    const [doc] = docsOf('apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {replicas: "3"}\n');
    expect(schemaProblems(doc!)).toEqual([]);
  });
});

/** kubernetes-models' model of a built-in kind: its validate() checks the full OpenAPI schema and throws. */
function kubernetesModelsValidator(apiVersion: string, kind: string): (o: unknown) => boolean {
  const models = require(apiVersion === 'v1' ? 'kubernetes-models/v1' : `kubernetes-models/${apiVersion}`) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = models[kind]!;
  return (o) => {
    try {
      new Model(o).validate();
      return true;
    } catch {
      return false;
    }
  };
}

describe('the built-in kinds\' schemas', () => {
  const variants: [string, (o: Record<string, any>) => void][] = [
    ['as written', () => {}],
    ['replicas as a string', (o) => { o['spec'].replicas = '3'; }],
    ['a memory limit that is no quantity', (o) => {
      const c = (o['spec'].template?.spec ?? o['spec']).containers[0];
      c.resources = { limits: { memory: 'lots' } };
    }],
    ['a containerPort as a string', (o) => { ((o['spec'].template?.spec ?? o['spec']).containers[0]).ports = [{ containerPort: '6379' }]; }],
    ['hostPID as a string', (o) => { (o['spec'].template?.spec ?? o['spec']).hostPID = 'true'; }],
    ['privileged as a string', (o) => { ((o['spec'].template?.spec ?? o['spec']).containers[0]).securityContext = { privileged: 'yes' }; }],
    ['a toleration with an unknown operator', (o) => { (o['spec'].template?.spec ?? o['spec']).tolerations = [{ key: 'k', operator: 'Matches' }]; }],
  ];

  it('agree with kubernetes-models on the examples and on malformed variants of them', () => {
    const pods = exampleDocs().filter((d) => ['StatefulSet', 'Deployment', 'Pod', 'ReplicationController'].includes(String(d.value['kind'])));
    expect(new Set(pods.map((d) => d.value['kind']))).toEqual(new Set(['StatefulSet', 'Deployment', 'Pod', 'ReplicationController']));
    for (const doc of pods) {
      const theirs = kubernetesModelsValidator(String(doc.value['apiVersion']), String(doc.value['kind']));
      for (const [what, change] of variants) {
        const object = structuredClone(doc.value) as Record<string, any>;
        change(object);
        const text = JSON.stringify(object);
        const ours = schemaProblems(docsOf(text)[0]!).length === 0;
        expect(ours, `${doc.file} ${what}`).toBe(theirs(object));
        // A Pod has no replicas: the field is unknown there, which neither schema refuses.
        const harmless = what === 'as written' || (what === 'replicas as a string' && doc.value['kind'] === 'Pod');
        expect(ours, `${doc.file} ${what}`).toBe(harmless);
      }
    }
  });
});

describe('the ahead-of-time compiled validators (npm run build)', () => {
  const compiledOf = (file: string): ValidateFunction => require(join(COMPILED_DIR, file.replace(/\.json$/, '.cjs'))) as ValidateFunction;
  const errorsOf = (v: ValidateFunction, o: unknown): string[] => (v(o) ? [] : (v.errors ?? []).filter((e) => !/anyOf\/\d+\//.test(e.schemaPath)).map((e) => `${e.instancePath} ${e.keyword}`).sort());

  it('give the errors ajv gives compiling the same schema here', () => {
    const objects = exampleDocs().map((d) => d.value as Record<string, any>);
    const broken = objects.map((o) => {
      const copy = structuredClone(o);
      copy['spec'] = { ...copy['spec'], replicas: 'three', mode: 'Standalon', clusterSize: '3', nodes: 'x', isCA: 'yes' };
      return copy;
    });
    let compared = 0;
    const compiledHere = new Map<string, ValidateFunction>();
    for (const object of [...objects, ...broken]) {
      const key = `${String(object['apiVersion'])}/${String(object['kind'])}`;
      const builtin = KUBERNETES_SCHEMAS[key];
      const file = builtin ? builtinFileOf(key) : schemaFileOf(String(object['apiVersion']), String(object['kind']));
      const schema = builtin ?? (existsSync(join(SCHEMAS_DIR, file)) ? JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) : null);
      if (!schema) continue;
      const here = compiledHere.get(file) ?? new Ajv(AJV_OPTIONS).compile(schema as object);
      compiledHere.set(file, here);
      expect(errorsOf(compiledOf(file), object), `${key} ${JSON.stringify(object['metadata'])}`).toEqual(errorsOf(here, object));
      compared++;
    }
    expect(compared).toBeGreaterThan(60);
  }, 120_000);
});
