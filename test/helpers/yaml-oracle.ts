// The yaml package's own answers about a YAML text, to hold parseDocuments to: each document's
// value (Document#toJS) and where each field is (documentLocator over the Document, what
// parseDocuments asks when it keeps the Document).
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { expect } from 'vitest';
import { documentLocator, parseDocuments, type SourceDocument } from '../../policies/engine/documents.js';

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

/**
 * Asks parseDocuments and the yaml package the same questions about every path (and a few that
 * lead nowhere), or about every `sample`-th path; returns how many paths were asked about.
 */
export function expectSameAnswers(file: string, text: string, sample = 1): number {
  const ours = parseDocuments(file, text).docs;
  const lines = new LineCounter();
  const theirs = (parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[])
    .map((d, index) => ({ d, index }))
    .filter(({ d }) => d.errors.length === 0 && isMap(d.contents));
  expect(ours.length, file).toBe(theirs.length);
  let asked = 0;
  ours.forEach((doc: SourceDocument, i) => {
    const o = oracle(theirs[i]!.d, text, lines);
    expect(doc.index, file).toBe(theirs[i]!.index);
    expect(doc.value, file).toEqual(o.value);
    // The same keys in the same order, and the same numbers, booleans and nulls.
    expect(JSON.stringify(doc.value), file).toBe(JSON.stringify(o.value));
    expect({ line: doc.line, column: doc.column }, file).toEqual(o.locate([]));
    const questions = [...paths(doc.value)];
    for (const p of paths(doc.value)) questions.push([...p, 'missing'], [...p, 99], [...p, '0'], [...p, '']);
    for (const [n, p] of questions.entries()) {
      if (n % sample !== 0) continue;
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
