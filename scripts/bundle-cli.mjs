#!/usr/bin/env node
// Bundles the CLI so that a process starts by reading a few files instead of resolving and
// compiling each module: `redline review` of one file loaded ~50 of Redline's ES modules and the
// 72 CommonJS files of yaml one by one, about a third of its start-up (npm run bench:review).
//
// Run by `npm run build` after tsc. dist/cli/main.js (tsc's output, the `redline` bin) is rewritten
// as the bundle of everything it imports; the commands it loads on use (serve, controller, …) and
// the code they share become chunks next to it (bundle-HASH.js), so review still loads nothing of
// serve. yaml, js-yaml and cel-js (which review needs at start-up) are bundled; the other dependencies stay
// external, loaded from node_modules as before. Every other file under dist/ is tsc's, unchanged.
// The chunks sit in dist/cli, as main.js does, so the paths the modules derive from their own
// location (the library, the prepared library, the compiled schemas) are the same.

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'cli');
const CHUNK = /^bundle-[A-Z0-9]+\.js(\.map)?$/;
/** Bundled: what every command needs at start-up. */
const BUNDLED = new Set(['yaml', 'js-yaml', '@marcbachmann/cel-js']);

const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
for (const f of readdirSync(OUT)) if (CHUNK.test(f)) rmSync(join(OUT, f));

await build({
  entryPoints: [join(OUT, 'main.js')],
  outdir: OUT,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'bundle-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(dependencies).filter((d) => !BUNDLED.has(d)),
  // yaml is CommonJS: its require() calls of Node's modules need a require in an ES module.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  // Chained to tsc's maps: with --enable-source-maps a stack trace names the .ts lines.
  sourcemap: 'linked',
  logLevel: 'warning',
});
const chunks = readdirSync(OUT).filter((f) => CHUNK.test(f) && f.endsWith('.js')).length;
process.stdout.write(`bundled ${relative(process.cwd(), join(OUT, 'main.js')) || '.'} (+${chunks} chunks loaded on use)\n`);
