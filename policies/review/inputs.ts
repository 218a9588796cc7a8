// Reads the manifests a review looks at: files or directories of YAML/JSON (multi-document),
// or `-` for stdin. Every unreadable or invalid input is a problem with its file and position.

import { readFile, stat } from 'node:fs/promises';
import { parseDocuments, unwrapLists, type Problem, type SourceDocument } from '../engine/documents.js';
import { listYamlFiles } from '../engine/library.js';

export async function readManifests(paths: readonly string[], stdin: () => Promise<string>): Promise<{ docs: SourceDocument[]; problems: Problem[] }> {
  const docs: SourceDocument[] = [];
  const problems: Problem[] = [];
  const addText = (file: string, text: string): void => {
    const parsed = parseDocuments(file, text);
    docs.push(...unwrapLists(parsed.docs));
    problems.push(...parsed.problems);
  };
  for (const path of paths) {
    if (path === '-') {
      addText('<stdin>', await stdin());
      continue;
    }
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (e) {
      problems.push({ file: path, line: 1, column: 1, path: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      continue;
    }
    const files = isDir ? await listYamlFiles(path) : [path];
    for (const file of files) {
      try {
        addText(file, await readFile(file, 'utf8'));
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

export function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}
