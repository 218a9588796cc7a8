// parseDocuments reads most files with js-yaml (policies/engine/plain-yaml.ts) and the rest with
// the yaml package. Whatever the path, the answers must be the yaml package's: each document's
// value, index and position, where each of its fields is, and no document where the yaml package
// reports an error. Checked on hand-picked texts, on every YAML file in the repository and on
// thousands of mutations of them (a seeded generator: the same texts on every run).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Document, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { listYamlFilesSync } from '../../policies/engine/library.js';
import { plainDocuments } from '../../policies/engine/plain-yaml.js';
import { expectSameAnswers } from '../helpers/yaml-oracle.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Whether the yaml package reports an error in any document of the text (or throws). */
function yamlRejects(text: string): boolean {
  try {
    return parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false }).some((d) => d.errors.length > 0);
  } catch {
    return true;
  }
}

const TAKEN: Record<string, string> = {
  quoting: 'a: "x \\"y\\" \\u00e9 \\x41 \\t \\\\ \\N \\_"\nb: \'it\'\'s\'\nc: "multi\n  line\n\n  folded"\nd: \'single\n  multi\'\ne: "a\\\n  b"\nf: "  spaced  "\ng: "\\U0001F600 \\/ \\0"\n',
  'plain folding': 'a: one\n  two\n\n  three\nb: x # comment\nc: x#not-a-comment\nd: http://example.com:8080/a?b=c\n',
  'block scalars': 'a: |\n  one\n    two\n\n  three\nb: >-\n  folded\n  text\n\n  para\nc: |+\n  keep\n\nd: |2\n    indented\ne: >\n  x\n# after\nf: 1\n',
  scalars: 'n: [1, -2, +3, 0o17, 0x1F, 1.5, 1e3, -.5, .inf, -.Inf, .nan, true, False, null, ~, NULL, "1", \'true\', yes, on, 012, 1_000, 0b1]\n',
  'flow collections': 'a: {b: 1, "c": [x, "y", \'z\'], d: {e: null}, f: [], g: {}}\nh: [a, b,]\ni: {j: k,}\nj: [\n  1,\n  2\n  ]\nk:\n  l: [\"--a\",\n    \"--b\"]\n  m: \"x\n    y\"\n',
  json: '{"apiVersion": "v1", "kind": "List", "items": [{"a": 1, "b": [true, null, 2.5, "x"]}, {"c": {"d": "e"}}]}\n',
  'keys an object already answers to': '__proto__: {polluted: true}\ntoString: shadowed\nconstructor: c\n"1": one\n"0": zero\nb: 2\n',
  'comments and documents': '# head\n\n---\n# c\na: 1 # c\n# between\nb:\n  # inside\n  - x # item\n  # last\n...\n---\n---\nc: d\n--- # marker comment\ne: f\n',
  'compact sequences': 'a:\n- b\n- c: d\n  e: f\n- - g\n  - h\n- {i: j}\n- [k]\n- |\n  lit\n- |\n- >-\n',
  'quoted keys': '"a b": 1\n\'c: d\': 2\n"e\\"f": 3\n',
  'null documents': '---\nnull\n---\n~\n---\na: 1\n',
};

const DECLINED: Record<string, string> = {
  anchor: 'a: &x {b: 1}\nc: 1\n',
  alias: 'a: &x 1\nc: *x\n',
  tag: 'a: !!str 1\n',
  'custom tag': 'a: !thing 1\n',
  'empty value': 'a:\nb: 1\n',
  'empty item': 'a:\n  -\n  - x\n',
  'explicit key': '? a\n: b\n',
  'explicit key in flow': '{? a : b}\n',
  tab: 'a:\t1\n',
  crlf: 'a: 1\r\nb: 2\r\n',
  bom: '\uFEFFa: 1\n',
  directive: '%YAML 1.2\n---\na: 1\n',
  'content after ---': '--- {a: 1}\n',
  merge: 'a: {x: 1}\n<<: {y: 2}\n',
  'number key': '1: one\n',
  'boolean key': 'true: yes\n',
  'null key': '~: nothing\n',
  'duplicate key': 'a: 1\na: 2\n',
  'duplicate key, quoted': 'a: 1\n"a": 2\n',
  'long key': `${'k'.repeat(1100)}: v\n`,
  'root sequence': '- a\n- b\n',
  'root string': 'just text\n',
  'multi-line implicit key': '"a\n b": 1\n',
  'flow pair in a sequence': 'a: [b: c]\n',
  'nested compact mapping': 'a: b: c\n',
  'bad indentation': 'a:\n  b: 1\n c: 2\n',
  'flow sequence continued at its mapping\'s column': 'a:\n  b: [1,\n  2]\n',
  'quoted scalar continued at its mapping\'s column': '- a: "x\n  y"\n',
  'comment glued to a quote': 'a: "x"#c\n',
  'content after ...': 'a: 1\n... b: 2\n',
  'a key that starts like a marker': '------ c: d\n',
};

describe('plain YAML through js-yaml', () => {
  for (const [name, text] of Object.entries(TAKEN)) {
    it(`takes ${name}, with the yaml package's answers`, () => {
      expect(yamlRejects(text)).toBe(false);
      expect(plainDocuments(text)).not.toBeNull();
      expect(expectSameAnswers(`${name}.yaml`, text)).toBeGreaterThan(0);
    });
  }

  for (const [name, text] of Object.entries(DECLINED)) {
    it(`leaves ${name} to the yaml package`, () => {
      expect(plainDocuments(text)).toBeNull();
      expectSameAnswers(`${name}.yaml`, text);
    });
  }

  it('knows the core schema tags it resolves plain scalars by (a plain scalar starting otherwise is a string)', () => {
    // plain-yaml.ts skips the tags' tests for text not starting with ~ N n T t F f + - . or a digit.
    const tests = new Document().schema.tags.flatMap((t) => ('test' in t && t.test ? [String(t.test)] : []));
    expect(tests).toEqual([
      '/^(?:~|[Nn]ull|NULL)?$/', '/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/', '/^0o[0-7]+$/', '/^[-+]?[0-9]+$/', '/^0x[0-9a-fA-F]+$/',
      '/^(?:[-+]?\\.(?:inf|Inf|INF)|\\.nan|\\.NaN|\\.NAN)$/', '/^[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)[eE][-+]?[0-9]+$/', '/^[-+]?(?:\\.[0-9]+|[0-9]+\\.[0-9]*)$/',
    ]);
  });

  it('takes every example manifest and answers as the yaml package for every file in the repository', () => {
    const examples = listYamlFilesSync(join(ROOT, 'manifests', 'examples'));
    expect(examples.length).toBeGreaterThan(20);
    for (const f of examples) expect(plainDocuments(readFileSync(f, 'utf8')), f).not.toBeNull();
    const files = ['manifests', 'policies/library', 'test/fixtures'].flatMap((d) => listYamlFilesSync(join(ROOT, d)));
    let taken = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      if (plainDocuments(text)) taken++;
      expectSameAnswers(f, text, 3);
    }
    expect(taken).toBeGreaterThan(files.length / 2);
  });

  it('never takes a mutated file the yaml package rejects, and answers as it does for every one it takes', () => {
    const seeds = [
      ...['manifests/examples', 'manifests/base', 'test/fixtures'].flatMap((d) => listYamlFilesSync(join(ROOT, d))).map((f) => readFileSync(f, 'utf8')),
      ...Object.values(TAKEN),
    ].filter((t) => t.length < 6000);
    const random = seeded(20261206);
    let taken = 0;
    let rejected = 0;
    let mutants = 0;
    for (const seed of seeds) {
      for (let n = 0; n < 40; n++) {
        const text = mutate(seed, random, 1 + Math.floor(random() * 3));
        mutants++;
        const fast = plainDocuments(text);
        if (yamlRejects(text)) {
          rejected++;
          expect(fast, `taken, though the yaml package rejects:\n${text}`).toBeNull();
        } else if (fast) {
          taken++;
          expectSameAnswers(`mutant ${mutants}:\n${text}`, text, 7);
        }
      }
    }
    // Both sides of the property were exercised, many times.
    expect(mutants).toBeGreaterThan(2000);
    expect(taken).toBeGreaterThan(mutants / 4);
    expect(rejected).toBeGreaterThan(mutants / 10);
  });
});

/** A deterministic generator of numbers in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters that mean something to YAML, and some that do not. */
const ALPHABET = [
  ':', ': ', '-', '- ', ' ', '  ', '\n', '#', ' #', '"', "'", '{', '}', '[', ']', ',', '?', '&', '*', '!', '|', '>', '%', '@', '`',
  '\\', '\\u', '\\x', '\\U', '~', '.', '...', '---', 'a', '0', '1', 'é', '😀', 'true', 'null',
  // Characters YAML treats apart: control, next-line, line and paragraph separators, no-break space, byte-order mark.
  '\u0007', '\u0000', '\u0085', '\u2028', '\u2029', '\u00a0', '\ufeff', '\ud800',
];

/** `count` random edits of the text: characters inserted or deleted, lines deleted, duplicated, joined or re-indented. */
function mutate(text: string, random: () => number, count: number): string {
  let out = text;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  for (let i = 0; i < count; i++) {
    const at = Math.floor(random() * (out.length + 1));
    const lines = out.split('\n');
    const line = Math.floor(random() * lines.length);
    switch (Math.floor(random() * 7)) {
      case 0:
        out = out.slice(0, at) + pick(ALPHABET) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 3));
        break;
      case 2:
        lines.splice(line, 1);
        out = lines.join('\n');
        break;
      case 3:
        lines.splice(line, 0, lines[line] ?? '');
        out = lines.join('\n');
        break;
      case 4:
        lines[line] = ' '.repeat(1 + Math.floor(random() * 3)) + (lines[line] ?? '');
        out = lines.join('\n');
        break;
      case 5:
        lines[line] = (lines[line] ?? '').replace(/^ {1,3}/, '');
        out = lines.join('\n');
        break;
      default:
        if (line < lines.length - 1) lines.splice(line, 2, `${lines[line]} ${lines[line + 1]!.trimStart()}`);
        out = lines.join('\n');
    }
  }
  return out;
}
