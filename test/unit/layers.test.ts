// The layers (README, Layout): core < policies < kube < certs < webhook | bootstrap < cli. A module
// imports from its own package or from a layer below it, never from a layer above it nor from a
// sibling package of its own layer. Every import of every .ts file outside test/ is checked (static
// imports, `export … from`, `import()` and `import type` alike), with no exceptions.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Layer rank of each top-level package. test/ (6) may import every package; scripts/ (7) are the
 * npm scripts' tooling (schema copies, the prepared library), which may also use test/'s one reader
 * of the upstream CRDs. Only the packages up to cli/ ship.
 */
const LAYERS: Readonly<Record<string, number>> = { core: 0, policies: 1, kube: 2, certs: 3, webhook: 4, bootstrap: 4, cli: 5, test: 6, scripts: 7 };
const SKIP = new Set(['node_modules', 'dist', 'test', '.git', 'manifests']);

/** Every .ts file outside test/ (and outside node_modules, dist), relative to the root. */
function sourceFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || (dir === ROOT && SKIP.has(e.name)) || e.name === 'node_modules') continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(full));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path.relative(ROOT, full));
  }
  return out;
}

/** Every module specifier a file imports or re-exports, static or dynamic, type-only included. */
function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

interface Violation {
  file: string;
  specifier: string;
  why: string;
}

/** Imports that run up the layers (or sideways into a sibling package), for files given by path → text. */
function violations(files: ReadonlyMap<string, string>): Violation[] {
  const out: Violation[] = [];
  for (const [file, text] of files) {
    const from = file.split('/')[0]!;
    const fromRank = file.includes('/') ? LAYERS[from] : undefined;
    for (const specifier of importsOf(text)) {
      if (!specifier.startsWith('.')) continue; // packages and node: builtins
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const to = target.split('/')[0]!;
      const toRank = LAYERS[to];
      if (target.startsWith('..') || toRank === undefined) {
        out.push({ file, specifier, why: `imports ${target}, which is in no layer` });
      } else if (fromRank === undefined) {
        out.push({ file, specifier, why: `${file} is in no layer but imports ${to}/` });
      } else if (to !== from && toRank >= fromRank) {
        out.push({ file, specifier, why: `${from} (layer ${fromRank}) imports ${to} (layer ${toRank}): ${toRank > fromRank ? 'upward' : 'sideways'}` });
      }
    }
  }
  return out;
}

describe('layers', () => {
  it('the checker sees every kind of import and flags upward, sideways and layerless ones', () => {
    const files = new Map([
      ['certs/a.ts', "import { x } from '../cli/x.js';\nimport type { Y } from '../kube/y.js';\nexport { z } from './z.js';\n"],
      ['kube/b.ts', "const m = await import('../certs/m.js');\nimport '../core/settings/spec.js';\nexport * from '../webhook/w.js';\n"],
      ['webhook/c.ts', "import type { T } from '../bootstrap/t.js';\nimport { readFileSync } from 'node:fs';\n"],
      ['core/d.ts', "import { q } from '../../elsewhere/q.js';\n"],
      ['tool.ts', "import { r } from './policies/r.js';\n"],
    ]);
    expect(violations(files).map((v) => `${v.file} → ${v.specifier}`)).toEqual([
      'certs/a.ts → ../cli/x.js',
      'kube/b.ts → ../certs/m.js',
      'kube/b.ts → ../webhook/w.js',
      'webhook/c.ts → ../bootstrap/t.js',
      'core/d.ts → ../../elsewhere/q.js',
      'tool.ts → ./policies/r.js',
    ]);
  });

  it('no module outside test/ imports from a layer above its own (or a sibling package)', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(80);
    for (const layer of Object.keys(LAYERS).filter((l) => l !== 'test')) expect(files.some((f) => f.startsWith(`${layer}/`)), layer).toBe(true);
    const found = violations(new Map(files.map((f) => [f, readFileSync(path.join(ROOT, f), 'utf8')])));
    expect(found.map((v) => `${v.file}: import '${v.specifier}' — ${v.why}`)).toEqual([]);
  });
});
