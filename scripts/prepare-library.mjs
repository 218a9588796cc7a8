#!/usr/bin/env node
// Prepares the shipped library for `redline review` and `redline mutate` at build time: parses and
// validates policies/library (without its PolicyTest files, which those commands do not read) and
// writes the documents to dist/policies/library.prepared.json, keyed by a hash of the files (see
// policies/engine/prepared.ts). A library that does not load is not prepared: it is then read from
// its files, and its problems reported, as always. Run by `npm run build` after tsc.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { defaultLibraryDir } = await import(join(ROOT, 'dist', 'policies', 'engine', 'index.js'));
const { compileLibrary, readLibrarySources } = await import(join(ROOT, 'dist', 'policies', 'engine', 'library.js'));
const { parseDocuments } = await import(join(ROOT, 'dist', 'policies', 'engine', 'documents.js'));
const { PREPARED_LIBRARY, prepare } = await import(join(ROOT, 'dist', 'policies', 'engine', 'prepared.js'));

rmSync(PREPARED_LIBRARY, { force: true });
const dir = defaultLibraryDir();
const sources = await readLibrarySources(dir, { tests: false });
try {
  compileLibrary(dir, sources);
} catch (e) {
  process.stderr.write(`prepare-library: ${relative(ROOT, dir)} does not load, not prepared:\n${e.message}\n`);
  process.exit(0);
}
const docs = new Map(sources.map((s) => [s.name, parseDocuments(s.file, s.text).docs]));
mkdirSync(dirname(PREPARED_LIBRARY), { recursive: true });
writeFileSync(PREPARED_LIBRARY, JSON.stringify(prepare(sources, docs)));
process.stdout.write(`prepared ${sources.length} library files in ${relative(process.cwd(), PREPARED_LIBRARY) || '.'}\n`);
