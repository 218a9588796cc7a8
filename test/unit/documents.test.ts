// Where a field of a parsed document is: parseDocuments keeps a flat tape of places instead of the
// yaml package's Document for plain documents (policies/engine/yaml-places.ts). Every answer must
// be the one the Document gives (documentLocator, what parseDocuments asks when it keeps the
// Document) over every YAML file in the repository and the documents that fall back to it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isScalar, isMap, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { describe, expect, it } from 'vitest';
import { documentLocator, parseDocuments, unwrapLists, type SourceDocument } from '../../policies/engine/documents.js';
import { listYamlFilesSync } from '../../policies/engine/library.js';
import { plainValue } from '../../policies/engine/yaml-places.js';

const ROOT = join(import.meta.dirname, '..', '..');

type Path = (string | number)[];

/** Every path into a value: each container, each leaf, and for mappings each key. */
function paths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

/** What the yaml package's Document says: its value, and where a field is as parseDocuments asks the Document when it keeps it. */
function oracle(doc: Document.Parsed, text: string, lines: LineCounter) {
  const pos = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const stringValue = (path: Path) => {
    const node = doc.getIn(path, true);
    return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
  };
  const located = documentLocator(doc, text, pos, pos((doc.contents as Node).range![0]));
  return { value: doc.toJS({ maxAliasCount: 100 }) as unknown, ...located, stringValue };
}

/** Asks both the same questions about every path (and a few that lead nowhere). */
function expectSameAnswers(file: string, text: string): number {
  const ours = parseDocuments(file, text).docs;
  const lines = new LineCounter();
  const theirs = (parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[])
    .filter((d) => d.errors.length === 0 && isMap(d.contents));
  expect(ours.length, file).toBe(theirs.length);
  let asked = 0;
  ours.forEach((doc: SourceDocument, i) => {
    const o = oracle(theirs[i]!, text, lines);
    expect(doc.value, file).toEqual(o.value);
    const questions = [...paths(doc.value)];
    for (const p of paths(doc.value)) questions.push([...p, 'missing'], [...p, 99], [...p, '0'], [...p, '']);
    for (const p of questions) {
      const where = `${file} ${JSON.stringify(p)}`;
      expect(doc.locate(p), where).toEqual(o.locate(p));
      expect(doc.locateKey(p), where).toEqual(o.locateKey(p));
      const length = o.stringValue(p)?.length;
      for (const offset of length === undefined ? [0] : [0, 1, Math.floor(length / 2), length - 1, length, length + 3]) {
        expect(doc.locateInValue(p, offset), `${where} @${offset}`).toEqual(o.locateInValue(p, offset));
      }
      asked++;
    }
  });
  return asked;
}

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
