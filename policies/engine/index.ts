// Public surface of the policy engine.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { Engine, type EngineOptions } from './engine.js';
export { loadLibrary, compileLibrary, type LoadOptions, type Library, type Plan, type CompiledPolicy } from './library.js';
export { documentError, parseDocuments, unwrapLists, type DocumentError, type SourceDocument } from './documents.js';
export {
  exceptionStatuses, nextExceptionChange, type CompiledException, type ExceptionStatus, type LibrarySettings,
} from './exceptions.js';
export { applyAddPatch } from './mutate.js';
export { Quantity } from './quantity.js';
export * from './types.js';

/** The policies and plans shipped with Redline (policies/library in the repository). */
export function defaultLibraryDir(): string {
  // Works from the sources (policies/engine) and from the build (dist/policies/engine).
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${join('dist', 'policies')}`) ? join(here, '..', '..', '..') : join(here, '..', '..');
  return join(root, 'policies', 'library');
}
