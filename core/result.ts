// A value or a problem: what a function returns when bad input is an answer, not an exception
// (a request body, a settings value, a Secret's keys, a CEL expression). A Problem says what is
// wrong and, as far as it is known, where: a file position and/or a field path. Code that has to
// stop on a problem throws a RedlineError carrying the problems (core/errors.ts).

/** Where a problem is, as far as it is known. */
export interface Where {
  /** The file (or `<stdin>`). */
  file?: string;
  /** 1-based position in `file`. */
  line?: number;
  column?: number;
  /** Field path: `spec.rules[2].expression`, `request.uid`, `controller.retry.initialMs`; '' for a whole document. */
  path?: string;
}

/** Redline's one problem type: a message and where it applies. */
export interface Problem extends Where {
  message: string;
}

/** A problem of a named field (a setting, a field of a request body). */
export type FieldProblem = Problem & { path: string };

/** A problem in a YAML/JSON document: file, line, column and field path are all known. */
export type DocumentProblem = Problem & Required<Where>;

export interface Ok<T> {
  ok: true;
  value: T;
}

export interface Failed<P> {
  ok: false;
  problem: P;
}

/**
 * A value or a problem. P is a Problem unless the problem is only a sentence with nothing to point
 * at (string) or a code the caller switches on.
 */
export type Result<T, P = Problem> = Ok<T> | Failed<P>;

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

export function fail<P>(problem: P): Failed<P> {
  return { ok: false, problem };
}

/** `file:line:column: path: message`, leaving out what is not known. */
export function formatProblem(p: Problem): string {
  const where = p.file === undefined ? '' : p.line === undefined ? `${p.file}: ` : `${p.file}:${p.line}:${p.column ?? 1}: `;
  return p.path ? `${where}${p.path}: ${p.message}` : `${where}${p.message}`;
}
