#!/usr/bin/env node
// `redline` — one CLI for every process: serve (webhook), review/mutate/test (offline engine).

import { errorKind, errorMessage, EXIT_CODES, RedlineError, type ErrorKind } from '../core/errors.js';
import { tierUpLater } from './batch-tiering.js';

const HELP = `usage: redline <command> [flags]

commands:
  serve       run the admission webhook (HTTPS /validate and /mutate)
  controller  run the tenant namespace controller (leader-elected)
  render      print what the controller applies for a tenant namespace
  certs       show the webhook's certificates, or force a rotation
  review      review manifests against the policies (what admission would do)
  mutate      print manifests as admission would store them
  test        run the policy test cases next to the policies
  audit       judge the Redis objects in the cluster now (what the background audit reports)
  plan-check  what would fail if a tenant moved to another plan
  help        show this help (redline help COMMAND, or redline COMMAND --help: that command's flags)

redline review [--plan NAME] [--only POLICY[,POLICY]] [--no-mutate] [--policies DIR]
               [--format text|json|sarif|junit] PATH...
redline mutate [--plan NAME] [--policies DIR] PATH...
redline test [DIR]
redline serve [--config FILE] [--dev] [--port 8443] [--health-port 8080] [--policies DIR]
              [--namespaces FILE] [--kubeconfig FILE]
redline controller [--config FILE] [--kubeconfig FILE] [--policies DIR]
redline render tenant --namespace NS --tenant ID --plan PLAN [--policies DIR] [--config FILE]
redline audit [--kubeconfig F] [--namespace NS | --tenant ID] [--policies DIR] [--format text|json|sarif|junit]
redline plan-check --tenant ID --plan NAME [--kubeconfig F] [--policies DIR] [--format ...]
redline certs show [--kubeconfig F] [--namespace N] [--secret NAME] [--output text|json] | show --dir DIR
redline certs rotate [--kubeconfig F] [--namespace N] [--secret NAME] [--ca] [--timeout SECONDS]
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  // Each command loads only its own modules (serve never loads review's, review never serve's).
  review: async () => batch((await import('./review.js')).runReview),
  mutate: async () => batch((await import('./review.js')).runMutate),
  test: async () => batch((await import('./review.js')).runTest),
  serve: async () => (await import('./serve.js')).runServe,
  controller: async () => (await import('./controller.js')).runController,
  render: async () => (await import('./render.js')).runRender,
  certs: async () => (await import('./certs.js')).runCerts,
  audit: async () => (await import('./audit.js')).runAudit,
  'plan-check': async () => (await import('./audit.js')).runPlanCheck,
};

/** A command that runs as a short batch: V8 tiers its functions up later (batch-tiering.ts). */
function batch(command: Command): Command {
  tierUpLater();
  return command;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0 && Object.hasOwn(COMMANDS, rest[0]!)) {
    return (await COMMANDS[rest[0]!]!())(['--help']);
  }
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) throw new RedlineError('usage', `unknown command ${JSON.stringify(name)}\n\n${HELP}`);
  return (await load())(rest);
}

/** How a thrown error ends the process: usage and input errors exit 2, failures outside Redline 1, Redline's own bugs 70 (core/errors.ts). */
function kindOfThrown(e: unknown): ErrorKind {
  // node:util parseArgs: an unknown flag or a missing value.
  const code = e instanceof Error ? (e as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return 'usage';
  // A system error (ENOENT, EACCES…) that no command turned into a message: a path the user named.
  if (e instanceof Error && typeof (e as { syscall?: unknown }).syscall === 'string') return 'input';
  return errorKind(e);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    const kind = kindOfThrown(e);
    process.stderr.write(kind === 'internal' && e instanceof Error ? `redline: internal error: ${e.stack ?? e.message}\n` : `redline: ${errorMessage(e)}\n`);
    process.exitCode = EXIT_CODES[kind];
  },
);
