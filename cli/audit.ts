// `redline audit` and `redline plan-check`: the background audit's judgement of the live objects,
// from a laptop or CI, read-only. Same engine, inputs and output formats as `review`.

import { parseArgs } from 'node:util';
import { isRedlineError, RedlineError } from '../core/errors.js';
import { KubeApi } from '../kube/api-client.js';
import { loadKubeConfig, resolveClusterAccess } from '../kube/kubeconfig.js';
import { Engine, defaultLibraryDir, loadLibrary, type SourceDocument } from '../policies/engine/index.js';
import { FORMATS, render, type Format } from '../policies/review/format.js';
import type { ObjectReview } from '../policies/review/review.js';
import { judgeTenantTotals } from '../policies/review/tenant-totals.js';
import { entitlementOf } from '../policies/tenancy/ledger.js';
import { DIMENSIONS, formatAmount, zero } from '../policies/tenancy/usage.js';
import type { NamespaceVerdict, ObjectVerdict } from '../bootstrap/audit/judge.js';
import { judgeCluster, readCluster, type LiveCluster, type Scope } from '../bootstrap/audit/live.js';
import { processIo, type Io } from './review.js';

export const AUDIT_HELP = `usage: redline audit [--kubeconfig FILE] [--namespace NS | --tenant ID] [--policies DIR]
                     [--format text|json|sarif|junit]

Judges the Redis objects that are in the cluster now, as the controller's background audit does
(and as admission would judge them if they were written again unchanged): every object of a kind
the webhook reviews in the tenant namespaces, against each namespace's plan (redline.dev/plan), with
the cluster's StorageClasses and PodDisruptionBudgets. Read-only: it lists, it writes nothing.
Without --namespace or --tenant, every tenant namespace.

flags:
  --kubeconfig FILE    kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS       one tenant namespace
  --tenant ID          the namespaces labelled redline.dev/tenant=ID
  --policies DIR       policy + plan library (default: the shipped policies/library)
  --format FORMAT      text (default), json, sarif or junit (as redline review)
  -h, --help           show this help

exit codes: 0 nothing denied; 1 at least one object admission would deny; 2 bad usage, no such
tenant namespace, or the cluster could not be read
`;

export const PLAN_CHECK_HELP = `usage: redline plan-check --tenant ID --plan NAME [--kubeconfig FILE] [--policies DIR]
                          [--format text|json|sarif|junit]

What would fail, object by object, if tenant ID's namespaces moved to plan NAME — before anyone
relabels anything: the live objects of every namespace labelled redline.dev/tenant=ID, judged as the
audit judges them but against NAME. Read-only. The text format ends with how many objects would be
denied under NAME that are allowed on their current plan,
and the tenant ledger's totals on NAME (an object past spec.tenantTotals is denied as by review).

flags:
  --tenant ID          the tenant (required)
  --plan NAME          the plan to check (required; one of the library's plans)
  --kubeconfig FILE    kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --policies DIR       policy + plan library (default: the shipped policies/library)
  --format FORMAT      text (default), json, sarif or junit
  -h, --help           show this help

exit codes: 0 nothing would be denied under NAME; 1 at least one object would be; 2 bad usage, an
unknown plan, a tenant without namespaces, or the cluster could not be read
`;

export interface ClusterIo extends Io {
  env?: NodeJS.ProcessEnv;
}

const COMMON = {
  kubeconfig: { type: 'string' },
  policies: { type: 'string' },
  format: { type: 'string', default: 'text' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** A live object's place in review output: namespaces/NS/Kind/name, line 1 (it has no file). */
function liveDocument(o: ObjectVerdict): SourceDocument {
  const at = { line: 1, column: 1 };
  return {
    file: `namespaces/${o.ref.namespace}/${o.ref.kind}/${o.ref.name}`,
    index: 0, value: {}, line: 1, column: 1,
    locate: () => at, locateKey: () => at, locateInValue: () => at,
  };
}

export function objectReviews(verdicts: readonly NamespaceVerdict[]): ObjectReview[] {
  return verdicts.flatMap((v) => v.objects.map((o) => ({
    doc: liveDocument(o),
    kind: o.ref.kind,
    apiVersion: o.ref.apiVersion,
    namespace: o.ref.namespace,
    name: o.ref.name,
    plan: v.plan,
    results: o.results,
    where: o.results.map(() => ({ line: 1, column: 1, path: '' })),
    patched: false,
    mutated: o.object,
    denied: o.denied,
  })));
}

function formatOf(value: string): Format {
  if (!FORMATS.includes(value as Format)) throw new RedlineError('usage', `--format must be one of ${FORMATS.join(', ')}, not ${value}`);
  return value as Format;
}

async function connect(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): Promise<KubeApi> {
  const access = resolveClusterAccess({ kubeconfig: kubeconfig ?? null, env });
  if (!access) throw new RedlineError('usage', 'no cluster: pass --kubeconfig FILE, set KUBECONFIG, or run in a cluster');
  return KubeApi.create({ kubeConfig: loadKubeConfig(access), timeoutMs: 30_000 });
}

/** Reads the live objects in scope; an unreadable cluster is exit code 2 with the reason. */
async function readLive(io: ClusterIo, kubeconfig: string | undefined, scope: Scope): Promise<LiveCluster | number> {
  const api = await connect(kubeconfig, io.env ?? process.env);
  try {
    return await readCluster(api, scope);
  } catch (e) {
    if (isRedlineError(e, 'usage')) throw e;
    // Exit 2, not 1 (the code of "denied"): the cluster is this command's input, and it was unreadable.
    io.err(`redline: cannot read the cluster: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  } finally {
    api.close();
  }
}

/** The options of `audit` or `plan-check` (COMMON plus their own); no positional arguments. */
function commandArgs<T extends Record<string, { type: 'string' }>>(argv: string[], command: string, own: T) {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON, ...own } });
  if (positionals.length) throw new RedlineError('usage', `unexpected argument ${JSON.stringify(positionals[0])}; see redline ${command} --help`);
  return values;
}

export async function runAudit(argv: string[], io: ClusterIo = processIo): Promise<number> {
  const values = commandArgs(argv, 'audit', { namespace: { type: 'string' }, tenant: { type: 'string' } });
  if (values.help) {
    io.out(AUDIT_HELP);
    return 0;
  }
  if (values.namespace !== undefined && values.tenant !== undefined) throw new RedlineError('usage', 'pass --namespace or --tenant, not both');
  const format = formatOf(values.format);
  const scope: Scope = values.namespace !== undefined ? { namespace: values.namespace } : values.tenant !== undefined ? { tenant: values.tenant } : { all: true };
  const engine = new Engine(await loadLibrary(values.policies ?? defaultLibraryDir()));
  const live = await readLive(io, values.kubeconfig, scope);
  if (typeof live === 'number') return live;
  const reviews = objectReviews(judgeCluster(engine, live));
  io.out(render(format, reviews, engine.library.policies, [], engine.exceptionStatuses()));
  return reviews.some((r) => r.denied) ? 1 : 0;
}

export async function runPlanCheck(argv: string[], io: ClusterIo = processIo): Promise<number> {
  const values = commandArgs(argv, 'plan-check', { tenant: { type: 'string' }, plan: { type: 'string' } });
  if (values.help) {
    io.out(PLAN_CHECK_HELP);
    return 0;
  }
  if (!values.tenant) throw new RedlineError('usage', 'plan-check needs --tenant ID');
  if (!values.plan) throw new RedlineError('usage', 'plan-check needs --plan NAME');
  const format = formatOf(values.format);
  const engine = new Engine(await loadLibrary(values.policies ?? defaultLibraryDir()));
  if (!engine.hasPlan(values.plan)) throw new RedlineError('usage', `--plan ${values.plan} is not defined; known plans: ${[...engine.library.plans.keys()].join(', ')}`);
  const live = await readLive(io, values.kubeconfig, { tenant: values.tenant });
  if (typeof live === 'number') return live;
  const now = judgeCluster(engine, live);
  const then = judgeCluster(engine, live, values.plan);
  const reviews = objectReviews(then);
  // The tenant ledger as admission would judge these objects on plan NAME: a tenant-totals denial on
  // each object past the plan's spec.tenantTotals, and the sums.
  const used = judgeTenantTotals(reviews, () => ({ tenant: values.tenant!, plan: values.plan! }), engine.library.plans).get(values.tenant) ?? zero();
  const entitled = entitlementOf(engine.library.plans.get(values.plan)!.spec);
  const totals = DIMENSIONS.map((d) => `${d} ${formatAmount(used[d])}${entitled[d] !== undefined ? ` of ${formatAmount(entitled[d]!)}` : ''}`).join(', ');
  const deniedNow = new Set(objectReviews(now).filter((r) => r.denied).map((r) => r.doc.file));
  const denied = reviews.filter((r) => r.denied);
  const newly = denied.filter((r) => !deniedNow.has(r.doc.file));
  const from = [...new Set(now.map((v) => v.plan))].join(', ');
  const out = render(format, reviews, engine.library.policies, [], engine.exceptionStatuses());
  if (format === 'json') {
    const doc = JSON.parse(out) as Record<string, unknown>;
    doc['planCheck'] = { tenant: values.tenant, plan: values.plan, currentPlans: from.split(', '), namespaces: then.map((v) => v.namespace), denied: denied.length, newlyDenied: newly.map((r) => r.doc.file), ledger: totals };
    io.out(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    io.out(out);
    if (format === 'text') {
      io.out(`plan-check: tenant ${values.tenant} (${then.length} namespace(s), now on ${from}) moved to ${values.plan}: ${denied.length} object(s) would be denied, ${newly.length} of them allowed now\n`);
      io.out(`tenant ledger on ${values.plan} (what the allowed objects use of spec.tenantTotals): ${totals}\n`);
    }
  }
  return denied.length > 0 ? 1 : 0;
}
