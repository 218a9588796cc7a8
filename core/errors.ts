// Redline's one error type. Every error that crosses a module boundary is a RedlineError with a
// `code` from the closed list below; the code decides the error's `kind`, and the kind decides how
// a process reports it (the CLI's exit code, see EXIT_CODES). Callers recognise errors by code
// (`isRedlineError(e, 'kube-api')`), never by class or `name` strings.
//
// Kinds:
//  - usage:       bad flags or arguments                              → exit 2
//  - input:       bad input: a document, a settings value, a file     → exit 2
//  - unavailable: something outside Redline failed or changed under it: the API server, the
//                 network, a lost lease, a shutdown, a write race      → exit 1
//  - internal:    a bug in Redline (also every error that is not a RedlineError) → exit 70
//                 (EX_SOFTWARE: distinct from review's 1 "denied" and 2 "bad usage")

export type ErrorKind = 'usage' | 'input' | 'unavailable' | 'internal';

const KIND_OF = {
  /** Bad flags or arguments of a command. */
  'usage': 'usage',
  /** Settings (file, env, flags) that do not validate; `problems` lists each. */
  'config-invalid': 'input',
  /** YAML/JSON documents (manifests, policies, plans) that do not parse or validate; `problems` has positions. */
  'document-invalid': 'input',
  /** An input over the size Redline reads. */
  'input-too-large': 'input',
  /** A Kubernetes quantity that does not parse. */
  'quantity-invalid': 'input',
  /** The `--namespaces` file; `problems` lists each. */
  'namespace-file-invalid': 'input',
  /** A certificate or key that does not parse or does not belong together. */
  'certificate-invalid': 'input',
  /** A kubeconfig that cannot be loaded. */
  'kubeconfig-invalid': 'input',
  /** The serving certificate or key files cannot be read or do not match. */
  'certificate-unreadable': 'input',
  /** A tenant namespace's desired state cannot be rendered from its plan. */
  'render-failed': 'input',
  /** A Kubernetes API call failed; `status` is the HTTP status (0: network error or timeout). */
  'kube-api': 'unavailable',
  /** An informer did not finish its first list in time. */
  'informer-not-synced': 'unavailable',
  /** A write refused locally: this process may not write (not the leader). */
  'write-gate-closed': 'unavailable',
  /** The API rate limiter was closed: the process is stopping. */
  'rate-limiter-closed': 'unavailable',
  /** A write of the certificate Secret lost a race (created, changed or deleted meanwhile). */
  'secret-conflict': 'unavailable',
  /** A tenant ledger record changed since it was read (another webhook replica wrote first). */
  'ledger-conflict': 'unavailable',
  /** The certificate manager lost the lease while working. */
  'not-leader': 'unavailable',
  /** The policy engine threw while reviewing an admission request (answered with `status` 500). */
  'reviewer-failed': 'internal',
  /** A failure of Redline itself. */
  'internal': 'internal',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof KIND_OF;

export interface RedlineErrorOptions<P> {
  cause?: unknown;
  /** The HTTP status that goes with the error (an API call's, or what a server answers). */
  status?: number;
  /** Each problem when there are several (settings, documents). */
  problems?: readonly P[];
}

export class RedlineError<P = string> extends Error {
  override readonly name = 'RedlineError';
  readonly kind: ErrorKind;
  readonly status: number | undefined;
  readonly problems: readonly P[];

  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: RedlineErrorOptions<P> = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = KIND_OF[code];
    this.status = opts.status;
    this.problems = opts.problems ?? [];
  }
}

/** Whether `e` is a RedlineError (of one of `codes`, when given). */
export function isRedlineError(e: unknown, ...codes: ErrorCode[]): e is RedlineError<unknown> {
  return e instanceof RedlineError && (codes.length === 0 || codes.includes(e.code));
}

/** The kind of any thrown value: what is not a RedlineError is a bug. */
export function errorKind(e: unknown): ErrorKind {
  return e instanceof RedlineError ? e.kind : 'internal';
}

/** The CLI's exit code per kind (0 is success, and review's 1 is "a policy denied"). */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = Object.freeze({ usage: 2, input: 2, unavailable: 1, internal: 70 });

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
