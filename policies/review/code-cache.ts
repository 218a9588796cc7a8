// The schema validators `npm run build` compiles are CommonJS files of 50–600 KB each (one
// function per subschema); V8 parsing and compiling them was most of what a review's first object
// of each kind cost (the 1,000-file repository's 16 kinds: about 60 ms, npm run bench:review). The
// build also writes V8's code cache of each (after one call, so the validator's own function is in
// it) next to the file, and review loads the file with it.
//
// V8 checks a cache against its own version and flags and the source's length only, and not its
// payload in release builds: so the cache file starts with the SHA-256 of the source it was made
// from and of its payload, and a cache whose hashes do not match is not handed to V8. One V8 does
// not take (another Node.js, other flags) is ignored by V8 itself. Either way the file is then
// compiled as without a cache; with no cache file it is required as before.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

const require = createRequire(import.meta.url);

/** Where the code cache of a CommonJS file is written and read. */
export function codeCacheOf(file: string): string {
  return `${file}.v8cache`;
}

/** A CommonJS module's source as a function of its five locals, as Node.js wraps it (kept on the file's first line). */
function wrapped(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();
const HASH = 32;

/** The V8 payload of a cache file, when it was made from this source and is whole; undefined otherwise. */
function payloadFor(cacheFile: Buffer, source: string): Buffer | undefined {
  if (cacheFile.length <= 2 * HASH) return undefined;
  const payload = cacheFile.subarray(2 * HASH);
  if (!sha256(source).equals(cacheFile.subarray(0, HASH)) || !sha256(payload).equals(cacheFile.subarray(HASH, 2 * HASH))) return undefined;
  return payload;
}

function run(script: Script, file: string): unknown {
  const module = { exports: {} as unknown };
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;
  fn(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/** The exports of a CommonJS file, compiled with its code cache when there is one; whether V8 took the cache (null: none). */
export function loadWithCodeCache(file: string): { exports: unknown; cacheAccepted: boolean | null } {
  const cache = codeCacheOf(file);
  if (!existsSync(cache)) return { exports: require(file), cacheAccepted: null };
  const source = readFileSync(file, 'utf8');
  const cachedData = payloadFor(readFileSync(cache), source);
  const script = new Script(wrapped(source), { filename: file, cachedData });
  return { exports: run(script, file), cacheAccepted: cachedData !== undefined && !script.cachedDataRejected };
}

/** The exports of a CommonJS file, compiled with its code cache when there is one. */
export function requireWithCodeCache(file: string): unknown {
  return loadWithCodeCache(file).exports;
}

/** Loads the file, lets `warm` call into it, then writes V8's code cache of everything compiled so far (the build's step). */
export function writeCodeCache(file: string, warm: (exports: unknown) => void): void {
  const source = readFileSync(file, 'utf8');
  const script = new Script(wrapped(source), { filename: file });
  warm(run(script, file));
  const payload = script.createCachedData();
  writeFileSync(codeCacheOf(file), Buffer.concat([sha256(source), sha256(payload), payload]));
}
