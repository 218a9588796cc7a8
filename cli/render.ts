// `redline render tenant --namespace NS --tenant ID --plan PLAN`: prints, as multi-document YAML,
// exactly what the controller applies for that namespace — the same renderTenant() with the same
// settings (--config FILE "controller:" section, REDLINE_CONTROLLER_* env, flags) — in apply order,
// the Namespace (Redline's labels) last. The controller adds the annotation
// redline.dev/bootstrap={"plan","hash","time"} to that Namespace apply; the hash is printed in
// the header so a cluster can be compared with a rendering. The Secrets Role depends on which
// Secrets exist in the cluster: it is printed with no names, i.e. no rules.

import type { Writable } from 'node:stream';
import YAML from 'yaml';
import { renderTenant } from '../bootstrap/render.js';
import { RedlineError } from '../core/errors.js';
import { isDnsLabel, isLabelValue } from '../core/names.js';
import { ANNOTATION_BOOTSTRAP, TENANT_SECRETS } from '../core/vocabulary.js';
import { defaultLibraryDir, loadLibrary } from '../policies/engine/index.js';
import { CONTROLLER_SPEC, type ControllerSettings } from '../core/settings/controller.js';
import { loadSettings } from '../core/settings/load.js';
import { formatProblems } from '../core/settings/spec.js';

export const RENDER_USAGE = `usage: redline render tenant --namespace NS --tenant ID --plan PLAN [--policies DIR] [--config FILE]

Prints the objects the controller applies for a tenant namespace (multi-document YAML).
Settings that shape them (tenantSubjects, certManager, network) come from the config file's
"controller:" section, REDLINE_CONTROLLER_* variables and flags, as for redline controller.
`;


export async function runRender(argv: string[], io: { stdout?: Pick<Writable, 'write'>; stderr?: Pick<Writable, 'write'>; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const args = loadSettings<ControllerSettings>(CONTROLLER_SPEC, { argv, env: io.env ?? process.env, cwd: io.cwd ?? process.cwd(), extraFlags: ['--namespace', '--tenant', '--plan'] });
  if (args.help) {
    stdout.write(RENDER_USAGE);
    return 0;
  }
  const [what, ...rest] = args.positional;
  const problems = args.usage.map((u) => u.message);
  if (what !== 'tenant') problems.push(what === undefined ? 'missing what to render: tenant' : `cannot render ${JSON.stringify(what)}: only "tenant"`);
  for (const p of rest) problems.push(`unexpected argument ${JSON.stringify(p)}`);
  const namespace = args.extras.get('--namespace');
  const tenant = args.extras.get('--tenant');
  const planName = args.extras.get('--plan');
  if (!namespace) problems.push('--namespace is required');
  else if (!isDnsLabel(namespace)) problems.push(`--namespace ${JSON.stringify(namespace)} is not a valid namespace name`);
  if (!tenant) problems.push('--tenant is required');
  else if (!isLabelValue(tenant, { nonEmpty: true })) problems.push(`--tenant ${JSON.stringify(tenant)} is not a valid label value`);
  if (!planName) problems.push('--plan is required');
  if (problems.length) throw new RedlineError('usage', `${problems.join('\n')}\n\n${RENDER_USAGE}`);
  if (!args.settings) {
    stderr.write(`redline render: invalid configuration:\n${formatProblems(args.problems)}\n`);
    return 2;
  }
  const settings = args.settings as ControllerSettings; // frozen: render only reads it
  const library = await loadLibrary(settings.policiesDir ?? defaultLibraryDir());
  const plan = library.plans.get(planName!);
  if (!plan) throw new RedlineError('usage', `unknown plan ${JSON.stringify(planName)}; known: ${[...library.plans.keys()].sort().join(', ')}`);

  const desired = renderTenant({ namespace: namespace!, tenant: tenant!, plan }, settings);
  const header = [
    `# redline render tenant: namespace ${namespace}, tenant ${tenant}, plan ${plan.name}`,
    `# desired-state hash ${desired.hash}`,
    `# the controller applies these in this order (field manager "redline") and adds the annotation`,
    `# ${ANNOTATION_BOOTSTRAP}={"plan":"${plan.name}","hash":"${desired.hash}","time":<apply time>} to the Namespace`,
    `# Role ${TENANT_SECRETS} is shown without rules: in the cluster its one rule grants get/watch on exactly the`,
    `# Secrets the tenant may read (those its Redis objects and Certificates use, and those it created), kept`,
    `# up to date by the controller; with none, it has no rules (the names are not part of the hash)`,
  ].join('\n');
  const docs = [...desired.objects, desired.namespaceObject].map((o) => YAML.stringify(o, { lineWidth: 0 }).trimEnd());
  stdout.write(`${header}\n---\n${docs.join('\n---\n')}\n`);
  return 0;
}
