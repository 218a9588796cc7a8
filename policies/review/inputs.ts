// Reads the manifests a review looks at: files or directories of YAML/JSON (multi-document),
// or `-` for stdin. Every unreadable or invalid input is a problem with its file and position.

import { readFileSync, statSync } from 'node:fs';
import { isRedlineError, RedlineError } from '../../core/errors.js';
import type { DocumentProblem } from '../../core/result.js';
import { parseDocuments, unwrapLists, type SourceDocument } from '../engine/documents.js';
import { listYamlFilesSync } from '../engine/library.js';

/**
 * The most a review reads from one file or from stdin. The API server takes objects of at most
 * 3 MiB, so a manifest file is far smaller; a larger one is refused before it is parsed (a 200 MB
 * document parsed as YAML runs the process out of memory).
 */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

function tooLarge(what: string, bytes: number | undefined): string {
  const size = bytes === undefined ? '' : ` ${(bytes / 1024 / 1024).toFixed(1)} MiB,`;
  return `${what} is${size} over the ${MAX_INPUT_BYTES / 1024 / 1024} MiB a review reads from one input (the API server takes objects of at most 3 MiB); split it into smaller files`;
}

/**
 * The documents of every path, in order. Files are read synchronously: a review has nothing else
 * to do meanwhile, and awaiting each stat and read of a 1,000-file repository one after the other
 * left the process idle for a quarter of its time (npm run bench:review).
 */
export async function readManifests(paths: readonly string[], stdin: () => Promise<string>): Promise<{ docs: SourceDocument[]; problems: DocumentProblem[] }> {
  const docs: SourceDocument[] = [];
  const problems: DocumentProblem[] = [];
  const addText = (file: string, text: string): void => {
    const parsed = parseDocuments(file, text);
    docs.push(...unwrapLists(parsed.docs));
    problems.push(...parsed.problems);
  };
  for (const path of paths) {
    if (path === '-') {
      try {
        addText('<stdin>', await stdin());
      } catch (e) {
        if (!isRedlineError(e, 'input-too-large')) throw e;
        problems.push({ file: '<stdin>', line: 1, column: 1, path: '', message: tooLarge('stdin', undefined) });
      }
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (e) {
      problems.push({ file: path, line: 1, column: 1, path: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      continue;
    }
    const files = isDir ? listYamlFilesSync(path) : [path];
    for (const file of files) {
      try {
        const { size } = statSync(file);
        if (size > MAX_INPUT_BYTES) {
          problems.push({ file, line: 1, column: 1, path: '', message: tooLarge('the file', size) });
          continue;
        }
        addText(file, readFileSync(file, 'utf8'));
      } catch (e) {
        problems.push({ file, line: 1, column: 1, path: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      }
    }
  }
  for (const doc of docs) {
    if (typeof doc.value['apiVersion'] !== 'string' || typeof doc.value['kind'] !== 'string') {
      problems.push({ file: doc.file, line: doc.line, column: doc.column, path: '', message: 'not a Kubernetes object: apiVersion and kind are required' });
    }
  }
  return { docs, problems };
}

/** All of stdin as text; rejects with an 'input-too-large' RedlineError (and stops reading) past MAX_INPUT_BYTES. */
export function readStdin(input: NodeJS.ReadableStream = process.stdin, limit = MAX_INPUT_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (c: Buffer): void => {
      bytes += c.length;
      if (bytes > limit) {
        input.removeListener('data', onData);
        input.pause();
        reject(new RedlineError('input-too-large', `stdin is over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    input.on('data', onData);
    input.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    input.on('error', reject);
  });
}
