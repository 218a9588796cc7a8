// Where a field of a parsed document is: parseDocuments keeps a flat tape of places instead of the
// yaml package's Document for plain documents (policies/engine/yaml-places.ts). Every answer must
// be the one the Document gives (documentLocator, what parseDocuments asks when it keeps the
// Document) over every YAML file in the repository and the documents that fall back to it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseDocuments, unwrapLists } from '../../policies/engine/documents.js';
import { listYamlFilesSync } from '../../policies/engine/library.js';
import { plainValue } from '../../policies/engine/yaml-places.js';
import { expectSameAnswers } from '../helpers/yaml-oracle.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('parseDocuments: where a field is', () => {
  it('answers as the yaml Document does for every path of every YAML file in the repository', () => {
    const files = ['manifests', 'policies/library'].flatMap((d) => listYamlFilesSync(join(ROOT, d)));
    expect(files.length).toBeGreaterThan(50);
    let asked = 0;
    for (const f of files) asked += expectSameAnswers(f, readFileSync(f, 'utf8'));
    expect(asked).toBeGreaterThan(10_000);
  });

  const EDGES = `
plain: value
quoted: "a \\"b\\" c"
single: 'it''s'
folded: >
  one
  two
literal: |
  line one
    indented
flow: {a: 1, b: [x, "y", 'z'], c: {d: null}}
numbers: [1, 2.5, -3, 0x1f, .inf, true, false, null, ~]
empty:
? explicit
__proto__: {polluted: true}
toString: shadowed
"quoted key": 1
list:
  - one
  -
  - {k: v}
  - - nested
`;

  it('answers alike for quoting, folding, flow collections, empty values and keys an object already answers to', () => {
    expect(plainValue(parseAllDocuments(EDGES)[0]!.contents as never)).not.toBeNull();
    expectSameAnswers('edges.yaml', EDGES);
    const doc = parseDocuments('edges.yaml', EDGES).docs[0]!;
    // An own property, as the yaml package makes it: not the prototype of the object.
    expect(Object.getPrototypeOf(doc.value)).toBe(Object.prototype);
    expect(Object.hasOwn(doc.value, '__proto__')).toBe(true);
    expect(doc.value['toString']).toBe('shadowed');
  });

  const FALLBACKS: Record<string, string> = {
    anchors: 'a: &x {b: 1}\nc: *x\n',
    merge: '%YAML 1.1\n---\nbase: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n',
    tags: 'a: !!str 1\nb: !custom thing\n',
    'number keys': '1: one\ntrue: yes\nnull: nothing\n',
    'collection key': '? [a, b]\n: pair\n',
  };

  for (const [name, text] of Object.entries(FALLBACKS)) {
    it(`keeps the Document and answers alike for ${name}`, () => {
      expect(plainValue(parseAllDocuments(text)[0]!.contents as never)).toBeNull();
      expectSameAnswers(`${name}.yaml`, text);
    });
  }

  it('a JSON List is unwrapped with its items located inside the file', () => {
    const text = '{"kind": "List", "apiVersion": "v1", "items": [\n  {"kind": "A", "metadata": {"name": "a"}},\n  {"kind": "B", "metadata": {"name": "b"}}\n]}\n';
    const docs = unwrapLists(parseDocuments('list.json', text).docs);
    expect(docs.map((d) => [d.value['kind'], d.line, d.column])).toEqual([['A', 2, 3], ['B', 3, 3]]);
    expect(docs[1]!.locate(['metadata', 'name'])).toEqual({ line: 3, column: 38 });
    expect(docs[1]!.locateKey(['kind'])).toEqual({ line: 3, column: 4 });
  });
});
