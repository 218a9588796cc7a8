// Facts about the practices of a managed Redis service, derived from a view and its raw object
// (and, where the cluster decides, from the StorageClasses and PodDisruptionBudgets the caller
// knows): authentication, persistence, Sentinel quorum, maxmemory, probe hosts, user namespaces,
// storage class provisioner, PDB coverage. Pure functions; the engine computes them once per
// review, only when a rule reads `practices`. Every sentence here ends up in a message, so each
// says what to write instead.

import { posix } from 'node:path';
import type { Json, JsonObject, PdbInfo, StorageClassInfo } from '../engine/types.js';
import { Quantity } from '../engine/quantity.js';
import { isOpstreeImage } from './detect.js';
import { pdbCandidates } from './pdb-index.js';
import { at, list, obj, str, type PodView, type WorkloadView } from './view.js';

export type { StorageClassInfo, PdbInfo };

/** What the caller knows about the cluster (an absent list means "not known here", not "none"), and the plan's headroom. */
export interface PracticeInputs {
  storageClasses?: readonly StorageClassInfo[] | undefined;
  pdbs?: readonly PdbInfo[] | undefined;
  /** Share of the memory limit maxmemory must leave free; default 0. */
  maxmemoryHeadroomPercent?: number;
  /**
   * The limits a container without one gets from the namespace's LimitRange (the plan's
   * defaults.other, which the bootstrapper stamps as the Container default); absent: not known.
   */
  containerDefaults?: { memory: string; cpu: string } | undefined;
}

export interface MaxmemoryFact {
  /** Where the setting is: "container redis args", "spec.redis.customConfig". */
  where: string;
  /** As written. */
  value: string;
  /** -1 when it cannot be read as a size. */
  bytes: number;
  /** The memory limit it must fit under, as written; '' when there is none. */
  limit: string;
  limitBytes: number;
  /** The largest maxmemory the limit allows after the headroom, in bytes (-1 without a limit)… */
  allowedBytes: number;
  /** …and as Redis writes it, in whole mb (1024 × 1024 bytes), rounded down: "768mb". */
  allowed: string;
}

/** Per-pod limits of the Redis containers as the pods will get them. */
export interface EffectiveResources {
  /** Largest over the templates of the per-pod sum; '' when a limit is 0 or unknown (no default known). */
  memoryLimit: string;
  cpuLimit: string;
  /** pods × per-pod memory, summed over the templates; '' as above. */
  totalMemoryLimit: string;
  /** "TEMPLATE container NAME limits.memory X (the namespace's default)" for every limit the LimitRange fills in. */
  defaulted: string[];
  /** Containers whose request is above the default limit they would get: the API server refuses their pods. */
  refused: string[];
}

export interface Practices {
  /** The Redis containers' limits with the LimitRange defaults filled in where a limit is absent. */
  resources: EffectiveResources;
  auth: {
    /** Non-empty: nothing protects this Redis; the sentence says what to write. */
    missing: string;
    /** Settings that turn protection off (disableAuth, ALLOW_EMPTY_PASSWORD=yes). */
    disabled: string[];
    /** Passwords written as literals (env values, arguments) or kept outside a Secret. */
    literal: string[];
    /** Where the password may live in something Redline cannot read (a config file). */
    unknown: string[];
  };
  persistence: {
    /** A workload that keeps data (not Sentinels, not a Pod: its owner is checked). */
    applies: boolean;
    durable: boolean;
    /** Why it is not durable, and what to write. */
    problem: string;
  };
  /** Sentinel processes this object runs (0: none). */
  sentinels: number;
  sentinelsOdd: boolean;
  maxmemory: MaxmemoryFact[];
  /** OT-Container-Kit redisConfig.maxMemoryPercentOfLimit; -1 when unset. */
  maxmemoryPercent: number;
  /** "container NAME livenessProbe.httpGet.host HOST" for every host set in a probe or handler. */
  probeHosts: string[];
  /** Paths of the pod templates with hostUsers: false (a user namespace). */
  userNamespaceTemplates: string[];
  storageClass: {
    /** The StorageClass list was given. */
    known: boolean;
    /** The class the data lands on: the named one, or the default class for ''; '' when none. */
    name: string;
    /** '' when the class is not in the list. */
    provisioner: string;
  };
  pdb: {
    /** The PodDisruptionBudget list was given. */
    known: boolean;
    covering: string[];
    /** Pod templates no PDB covers, with the PDB to add. */
    uncovered: { path: string; name: string; selector: Record<string, string> }[];
  };
}

const GROUP_KUBEDB = 'kubedb.com';
const GROUP_OT = 'redis.redis.opstreelabs.in';
const GROUP_SPOTAHOME = 'databases.spotahome.com';
const GROUP_ENTERPRISE = 'app.redislabs.com';

function group(view: WorkloadView): string {
  const i = view.apiVersion.lastIndexOf('/');
  return i < 0 ? '' : view.apiVersion.slice(0, i);
}

export function practicesOf(view: WorkloadView, object: JsonObject, inputs: PracticeInputs = {}): Practices {
  const raw = rawTemplates(view, object);
  const sentinels = sentinelsOf(view, object);
  return {
    resources: effectiveResources(view, inputs.containerDefaults),
    auth: authOf(view, object, raw),
    persistence: persistenceOf(view, object, raw),
    sentinels,
    sentinelsOdd: sentinels % 2 === 1,
    maxmemory: maxmemoryOf(view, object, inputs.maxmemoryHeadroomPercent ?? 0),
    maxmemoryPercent: maxmemoryPercentOf(view, object),
    probeHosts: probeHostsOf(object),
    userNamespaceTemplates: userNamespaceTemplates(raw),
    storageClass: storageClassOf(view, inputs.storageClasses),
    pdb: pdbOf(view, inputs.pdbs),
  };
}

function userNamespaceTemplates(raw: readonly RawTemplate[]): string[] {
  const out: string[] = [];
  for (const t of raw) if (t.spec['hostUsers'] === false) out.push(t.pod.path);
  return out;
}

// ---- resources as the pods get them ----------------------------------------------------------

/**
 * A container without a limit gets the LimitRange default limit when its pod is created (request
 * unset: the default request too). A limit of 0 is no limit to the kubelet and the LimitRange
 * minimum refuses it: no figure then. A request above the default limit makes the pod invalid.
 */
export function effectiveResources(view: WorkloadView, defaults: { memory: string; cpu: string } | undefined): EffectiveResources {
  const defaulted: string[] = [];
  const refused: string[] = [];
  const perPod = (pod: PodView, resource: 'memory' | 'cpu'): Quantity | undefined => {
    let total: Quantity | undefined;
    for (const c of pod.containers) {
      if (!c.redis) continue;
      const written = c.resources.limits[resource];
      let q = written === undefined ? undefined : Quantity.tryParse(written);
      if (written !== undefined && (!q || q.nanos === 0n)) return undefined;
      if (!q) {
        const fallback = defaults ? Quantity.tryParse(defaults[resource]) : undefined;
        if (!fallback) return undefined;
        q = fallback;
        defaulted.push(`${pod.path} container ${c.name} limits.${resource} ${fallback.text} (the namespace's default)`);
        const request = Quantity.tryParse(c.resources.requests[resource] ?? '');
        if (request && request.compareTo(fallback) > 0) {
          refused.push(`${pod.path} container ${c.name}: requests.${resource} ${request.text} is above the default limit ${fallback.text}`);
        }
      }
      total = total ? total.plus(q) : q;
    }
    return total;
  };
  let memory: Quantity | undefined;
  let cpu: Quantity | undefined;
  let total = Quantity.fromNanos(0n);
  let memoryKnown = true;
  let cpuKnown = true;
  let counted = 0;
  for (const pod of view.podTemplates) {
    if (!pod.containers.some((c) => c.redis)) continue;
    counted++;
    const m = perPod(pod, 'memory');
    const c = perPod(pod, 'cpu');
    if (!m) memoryKnown = false;
    else {
      if (!memory || m.compareTo(memory) > 0) memory = m;
      total = total.plus(m.times(BigInt(pod.replicas)));
    }
    if (!c) cpuKnown = false;
    else if (!cpu || c.compareTo(cpu) > 0) cpu = c;
  }
  return {
    memoryLimit: memoryKnown && memory ? memory.text : '',
    cpuLimit: cpuKnown && cpu ? cpu.text : '',
    totalMemoryLimit: memoryKnown && counted > 0 ? total.text : '',
    defaulted: [...new Set(defaulted)],
    refused: [...new Set(refused)],
  };
}

// ---- raw pod specs -------------------------------------------------------------------------

interface RawTemplate { pod: PodView; spec: JsonObject }

/**
 * The PodSpec behind each template where the object has a real one: a Pod's spec, a template's
 * `.spec` (spec.template, spec.podTemplate, spec.jobTemplate.spec.template). CRs with flat pod
 * fields (OT-Container-Kit) have none.
 */
const TEMPLATE_PATH = /(^|\.)(template|podTemplate)$/;

function rawTemplates(view: WorkloadView, object: JsonObject): RawTemplate[] {
  const out: RawTemplate[] = [];
  for (const pod of view.podTemplates) {
    let spec: Json | undefined;
    if (view.kind === 'Pod' && pod.path === 'spec') spec = object['spec'];
    else if (TEMPLATE_PATH.test(pod.path)) spec = at(object, [...pod.path.split('.'), 'spec']);
    if (spec !== undefined && spec !== null && typeof spec === 'object' && !Array.isArray(spec)) out.push({ pod, spec });
  }
  return out;
}

function rawContainers(spec: JsonObject): JsonObject[] {
  return [...list(spec['containers']), ...list(spec['initContainers'])].map(obj);
}

/** The volume (by name) a path inside the container lives on, via the longest matching mount. */
function volumeAt(container: JsonObject, spec: JsonObject, path: string): JsonObject | null {
  let best: JsonObject | null = null;
  let bestLength = -1;
  for (const m of list(container['volumeMounts']).map(obj)) {
    const mountPath = str(m['mountPath']).replace(/\/+$/, '');
    if (!mountPath || !(path === mountPath || path.startsWith(`${mountPath}/`))) continue;
    if (mountPath.length > bestLength) {
      bestLength = mountPath.length;
      best = m;
    }
  }
  if (!best) return null;
  const name = str(best['name']);
  return list(spec['volumes']).map(obj).find((v) => str(v['name']) === name) ?? { name, claimTemplate: true };
}

function onSecretVolume(container: JsonObject, spec: JsonObject, path: string): boolean {
  const v = volumeAt(container, spec, path);
  if (!v) return false;
  if (v['secret'] !== undefined) return true;
  const sources = list(obj(v['projected'])['sources']).map(obj);
  return sources.length > 0 && sources.every((s) => s['secret'] !== undefined);
}

/** Words of the command and args; a shell script (`sh -c "…"`) is split on whitespace too. */
function words(container: JsonObject): string[] {
  const out: string[] = [];
  for (const a of [...list(container['command']), ...list(container['args'])]) {
    for (const w of str(a).split(/\s+/)) if (w) out.push(w.replace(/^["']|["']$/g, ''));
  }
  return out;
}

/** The value after a flag: `--flag value` or `--flag=value`. */
function flagValues(ws: string[], flag: string): string[] {
  const out: string[] = [];
  ws.forEach((w, i) => {
    if (w === flag && i + 1 < ws.length) out.push(ws[i + 1]!);
    else if (w.startsWith(`${flag}=`)) out.push(w.slice(flag.length + 1));
  });
  return out;
}

/** `$(NAME)`, `$NAME` or `${NAME}`: the env variable a value refers to, else ''. */
function envReference(value: string): string {
  const m = /^\$(?:\(([A-Za-z_][A-Za-z0-9_]*)\)|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(value);
  return m ? (m[1] ?? m[2] ?? m[3] ?? '') : '';
}

// ---- authentication ------------------------------------------------------------------------

const PASSWORD_ENV = /(PASSWORD|PASSWD|_AUTH|_PASS)$/i;
const SERVER_PASSWORD_ENV = new Set(['REDIS_PASSWORD', 'VALKEY_PASSWORD', 'KEYDB_PASSWORD']);
const SERVER_PASSWORD_FILE_ENV = new Set(['REDIS_PASSWORD_FILE', 'VALKEY_PASSWORD_FILE', 'KEYDB_PASSWORD_FILE']);
const EMPTY_PASSWORD_ENV = new Set(['ALLOW_EMPTY_PASSWORD', 'REDIS_ALLOW_EMPTY_PASSWORD', 'VALKEY_ALLOW_EMPTY_PASSWORD']);
const TRUTHY = new Set(['yes', 'true', '1', 'y', 'on']);

function authOf(view: WorkloadView, object: JsonObject, raw: RawTemplate[]): Practices['auth'] {
  const auth: Practices['auth'] = { missing: '', disabled: [], literal: [], unknown: [] };
  const spec = obj(object['spec']);
  const g = group(view);
  // Literal passwords anywhere in the pod templates' env (exporters and sidecars leak them too).
  for (const c of view.containers) {
    for (const name in c.env) {
      if (PASSWORD_ENV.test(name) && !EMPTY_PASSWORD_ENV.has(name) && c.env[name] && !envReference(c.env[name]!)) {
        auth.literal.push(`container ${c.name} env ${name} is a literal value; take it from a Secret with valueFrom.secretKeyRef`);
      }
      if (EMPTY_PASSWORD_ENV.has(name) && TRUTHY.has((c.env[name] ?? '').toLowerCase())) {
        auth.disabled.push(`container ${c.name} sets ${name}=${c.env[name]}; remove it and set REDIS_PASSWORD from a Secret (valueFrom.secretKeyRef)`);
      }
    }
  }
  if (g === GROUP_KUBEDB) {
    if (spec['disableAuth'] === true) {
      auth.disabled.push(`spec.disableAuth is true; remove it (KubeDB then creates the Secret ${view.name}-auth) or name your own Secret in spec.authSecret.name`);
    }
    kubedbHiddenConfig(spec, auth);
    return auth;
  }
  if (g === GROUP_OT) {
    const secret = obj(obj(spec['kubernetesConfig'])['redisSecret']);
    if (!str(secret['name']) || !str(secret['key'])) {
      auth.missing = `${view.kind} ${view.name} has no password: set spec.kubernetesConfig.redisSecret {name: <Secret>, key: <key>} to a Secret holding it`;
    }
    const image = str(obj(spec['kubernetesConfig'])['image']);
    if (!auth.missing && !isOpstreeImage(image)) {
      auth.disabled.push(`spec.kubernetesConfig.image ${image || '(none)'} is not the operator's image (quay.io/opstree/redis): only its entrypoint sets the password from spec.kubernetesConfig.redisSecret, and the operator sets no command`);
    }
    otEnvOverrides(spec, auth);
    otAdditionalConfig(spec, auth);
    return auth;
  }
  if (g === GROUP_SPOTAHOME) {
    if (!str(obj(spec['auth'])['secretPath'])) {
      auth.missing = `RedisFailover ${view.name} has no password: set spec.auth.secretPath to a Secret with the key "password"`;
    }
    spotahomePasswordLines(spec, auth);
    spotahomeCommandAuth(spec, auth);
    return auth;
  }
  if (g === GROUP_ENTERPRISE) return auth; // the operator generates every database's password Secret
  if (view.engine !== 'kubernetes' || view.role === 'other-pod' || view.role === 'other-workload') return auth;
  plainAuth(view, raw, auth);
  return auth;
}

/**
 * OT-Container-Kit appends spec.env to the env it derives from the CR and sorts by name, so an
 * entry named REDIS_PASSWORD comes after the operator's (from kubernetesConfig.redisSecret) and is
 * the one the container gets (k8sutils/statefulset.go getEnvironmentVariables). The image's
 * entrypoint sets requirepass only for a non-empty REDIS_PASSWORD, and includes
 * EXTERNAL_CONFIG_FILE after everything it writes.
 */
function otEnvOverrides(spec: JsonObject, auth: Practices['auth']): void {
  for (const e of list(spec['env']).map(obj)) {
    // The entrypoint includes this file after the password, TLS and persistence lines it writes.
    if (str(e['name']) === 'EXTERNAL_CONFIG_FILE') {
      auth.disabled.push('spec.env EXTERNAL_CONFIG_FILE includes a file after the password, TLS and persistence settings the operator derives from the CR, so it can turn them off; remove the entry');
    }
    if (str(e['name']) !== 'REDIS_PASSWORD') continue;
    const from = obj(e['valueFrom']);
    if (from['secretKeyRef'] !== undefined) continue; // another Secret: still a password
    if (e['valueFrom'] !== undefined) {
      auth.literal.push('spec.env REDIS_PASSWORD does not come from a Secret; remove it (the operator takes the password from spec.kubernetesConfig.redisSecret)');
    } else if (!str(e['value']).trim()) {
      auth.disabled.push('spec.env REDIS_PASSWORD is empty and replaces the password the operator takes from spec.kubernetesConfig.redisSecret, so the server runs without one; remove the entry');
    }
  }
}

/**
 * KubeDB loads a redis.conf from spec.configSecret or spec.configuration (secretName, inline), and
 * runs every script of spec.init.script in the Redis container once the server answers, with its
 * password at hand (kubedb/redis-init-docker on-start.sh): each can change what the CR says, and
 * Redline cannot read a Secret's content.
 */
function kubedbHiddenConfig(spec: JsonObject, auth: Practices['auth']): void {
  const configuration = obj(spec['configuration']);
  const configSecret = str(obj(spec['configSecret'])['name']);
  if (configSecret) auth.unknown.push(`spec.configSecret ${configSecret} holds a redis.conf the server loads; Redline cannot see what it sets`);
  if (str(configuration['secretName'])) auth.unknown.push(`spec.configuration.secretName ${str(configuration['secretName'])} holds a redis.conf the server loads; Redline cannot see what it sets`);
  if (Object.keys(obj(configuration['inline'])).length > 0) auth.unknown.push('spec.configuration.inline is configuration the server loads; Redline does not judge it');
  if (spec['init'] !== undefined && obj(spec['init'])['script'] !== undefined) {
    auth.unknown.push('spec.init.script runs scripts in the Redis container after it starts, with its password at hand; Redline cannot see what they do');
  }
}

/**
 * OT-Container-Kit mounts spec.redisConfig.additionalRedisConfig (per role on a RedisCluster) at
 * /etc/redis/external.conf.d, and the image's entrypoint includes it after everything it writes,
 * as it does EXTERNAL_CONFIG_FILE. A tenant cannot write ConfigMaps (the platform provides them),
 * so this is a warning that Redline cannot see what the file sets, not a denial.
 */
function otAdditionalConfig(spec: JsonObject, auth: Practices['auth']): void {
  for (const at of ['', 'redisLeader', 'redisFollower']) {
    const holder = at ? obj(spec[at]) : spec;
    const name = str(obj(holder['redisConfig'])['additionalRedisConfig']);
    if (name) auth.unknown.push(`${at ? `spec.${at}` : 'spec'}.redisConfig.additionalRedisConfig ConfigMap ${name} is included after the operator's password, TLS and persistence settings; Redline cannot see what it sets`);
  }
}

/**
 * Spotahome writes the password into /redis/redis.conf and starts `redis-server /redis/redis.conf`
 * unless spec.redis.command is set (generator.go getRedisCommand): a command without that file
 * runs without the password, and flags after it override the file.
 */
function spotahomeCommandAuth(spec: JsonObject, auth: Practices['auth']): void {
  const command = list(obj(spec['redis'])['command']).map(str);
  if (command.length === 0) return;
  if (!command.some((w) => w.split(/\s+/).includes('/redis/redis.conf'))) {
    auth.disabled.push('spec.redis.command does not load /redis/redis.conf, where the operator writes the password from spec.auth.secretPath; remove the command or keep the file as its first argument');
  }
  const options = serverOptions(command, 'spec.redis.command');
  for (const name of ['requirepass', 'masterauth']) {
    const setting = options.get(name);
    if (!setting) continue;
    if (setting.value.trim()) auth.literal.push(`spec.redis.command --${name} is a literal password; use spec.auth.secretPath`);
    else auth.disabled.push(`spec.redis.command --${name} with an empty value replaces the password from spec.auth.secretPath; remove it`);
  }
}

/**
 * Spotahome applies each customConfig line with CONFIG SET, the first word the parameter and the
 * rest its value (service/redis/client.go): "requirepass x" writes a password into the manifest,
 * "requirepass " (nothing after the space) sets an empty one, which turns the password from
 * spec.auth.secretPath off.
 */
function spotahomePasswordLines(spec: JsonObject, auth: Practices['auth']): void {
  for (const line of list(obj(spec['redis'])['customConfig']).map(str)) {
    const m = /^\s*(requirepass|masterauth)(?:\s(.*))?$/is.exec(line);
    if (!m) continue;
    const parameter = m[1]!.toLowerCase();
    if ((m[2] ?? '').trim()) auth.literal.push(`spec.redis.customConfig "${parameter} …" is a literal password; use spec.auth.secretPath`);
    else if (m[2] === undefined) continue; // no value at all: the operator refuses the line
    else if (parameter === 'requirepass') auth.disabled.push('spec.redis.customConfig "requirepass " sets an empty password, which turns the one from spec.auth.secretPath off; remove the line');
    else auth.disabled.push('spec.redis.customConfig "masterauth " sets an empty masterauth in place of the password from spec.auth.secretPath; remove the line');
  }
}

/** StatefulSets, Deployments, Pods…: the env and arguments of the containers that run Redis. */
function plainAuth(view: WorkloadView, raw: RawTemplate[], auth: Practices['auth']): void {
  let protectedBy = '';
  const configFiles: string[] = [];
  const envFromSecrets: string[] = [];
  for (const { pod, spec } of raw) {
    const redisNames = new Set(pod.containers.filter((c) => c.redis).map((c) => c.name));
    for (const c of rawContainers(spec)) {
      const name = str(c['name']);
      if (!redisNames.has(name)) continue;
      const env = new Map<string, JsonObject>();
      for (const e of list(c['env']).map(obj)) env.set(str(e['name']), e);
      const fromSecret = (n: string): boolean => obj(env.get(n)?.['valueFrom'])['secretKeyRef'] !== undefined;
      for (const e of list(c['envFrom']).map(obj)) {
        if (e['secretRef'] !== undefined) envFromSecrets.push(str(obj(e['secretRef'])['name']));
      }
      for (const [n, e] of env) {
        const valueFrom = obj(e['valueFrom']);
        // A literal password still protects Redis; password-from-secret reports it.
        if (SERVER_PASSWORD_ENV.has(n) && (valueFrom['secretKeyRef'] !== undefined || str(e['value']))) protectedBy ||= `env ${n}`;
        if (PASSWORD_ENV.test(n) && valueFrom['configMapKeyRef'] !== undefined) {
          auth.literal.push(`container ${name} env ${n} comes from a ConfigMap; take it from a Secret with valueFrom.secretKeyRef`);
        }
        if (SERVER_PASSWORD_FILE_ENV.has(n)) {
          const file = str(e['value']);
          if (file && onSecretVolume(c, spec, file)) protectedBy ||= `env ${n}`;
          else auth.literal.push(`container ${name} env ${n} points at ${file || 'nothing'}, which is not on a Secret volume; mount the Secret and point ${n} into it`);
        }
      }
      const ws = words(c);
      for (const flag of ['--requirepass', '--masterauth']) {
        for (const value of flagValues(ws, flag)) {
          const ref = envReference(value);
          if (!ref) {
            auth.literal.push(`container ${name} passes ${flag} a literal password; use ${flag} $(REDIS_PASSWORD) with REDIS_PASSWORD from a Secret`);
            if (flag === '--requirepass') protectedBy ||= flag;
          } else if (fromSecret(ref) || (!env.has(ref) && envFromSecrets.length > 0)) {
            if (flag === '--requirepass') protectedBy ||= `${flag} $(${ref})`;
          } else if (!env.has(ref)) auth.literal.push(`container ${name} passes ${flag} $(${ref}) but ${ref} is not set from a Secret; set it with valueFrom.secretKeyRef`);
        }
      }
      for (const file of flagValues(ws, '--aclfile')) {
        if (onSecretVolume(c, spec, file)) protectedBy ||= `--aclfile ${file}`;
        else auth.unknown.push(`container ${name} reads its ACL from ${file}, which is not on a Secret volume; Redline cannot tell whether it protects Redis — mount it from a Secret`);
      }
      for (const w of ws) if (/\.conf$/.test(w) && !w.startsWith('-')) configFiles.push(`${name}: ${w}`);
    }
  }
  if (protectedBy) return;
  if (envFromSecrets.length > 0) {
    auth.unknown.push(`the password may come from envFrom Secret ${envFromSecrets.join(', ')}; Redline cannot see its keys — set REDIS_PASSWORD with valueFrom.secretKeyRef instead`);
  } else if (configFiles.length > 0) {
    auth.unknown.push(`authentication may be in the configuration file (${configFiles.join(', ')}), which Redline cannot read; pass --requirepass $(REDIS_PASSWORD) with REDIS_PASSWORD from a Secret so it is visible`);
  } else if (raw.length > 0 && auth.disabled.length === 0) {
    auth.missing = `${view.kind} ${view.name} runs Redis without a password: set REDIS_PASSWORD (Bitnami images) from a Secret with valueFrom.secretKeyRef, or pass --requirepass $(REDIS_PASSWORD) or --aclfile on a Secret volume`;
  }
}

// ---- persistence ---------------------------------------------------------------------------

/**
 * OT-Container-Kit: a RedisCluster mounts its claims only with persistenceEnabled; the image's
 * entrypoint writes `dir "${DATA_DIR}"` and its persistence lines from
 * PERSISTENCE_ENABLED, and the operator mounts the claim at /data; spec.env entries of those names
 * come after the operator's and win (see otEnvOverrides).
 */
function otDataOffClaim(kind: string, spec: JsonObject): string {
  // A RedisCluster's claims are mounted only with persistenceEnabled: true
  // (generateRedisClusterContainerParams): without it they are made, counted, and never used.
  if (kind === 'RedisCluster' && spec['persistenceEnabled'] !== true) {
    return 'spec.persistenceEnabled is not true: the operator makes the claims of spec.storage but does not mount them; set persistenceEnabled: true';
  }
  for (const e of list(spec['env']).map(obj)) {
    const name = str(e['name']);
    if (name === 'DATA_DIR' || name === 'NODE_CONF_DIR' || (name === 'PERSISTENCE_ENABLED' && !(e['valueFrom'] === undefined && str(e['value']) === 'true'))) {
      return `spec.env ${name} replaces what the operator sets for the claim it mounts at /data, so the data may not be written there; remove the entry`;
    }
  }
  return '';
}

/** A redis-server setting as it was last written, and how (for the message). */
interface ServerSetting { value: string; said: string }

/**
 * Command-line options to redis-server, last one wins: `--flag value`, `--flag=value`, and a flag
 * with nothing after it (or another flag next) is the empty value, as redis-server reads it.
 */
function serverOptions(args: readonly string[], where: string): Map<string, ServerSetting> {
  const into = new Map<string, ServerSetting>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) {
      const value = a.slice(eq + 1);
      into.set(a.slice(2, eq).toLowerCase(), { value, said: `${where} ${a}` });
      continue;
    }
    const next = args[i + 1];
    const value = next === undefined || next.startsWith('--') ? '' : next;
    into.set(a.slice(2).toLowerCase(), { value, said: `${where} ${a} ${JSON.stringify(value)}` });
    if (value !== '' || next === '') i++;
  }
  return into;
}

/** What the settings leave on the claim mounted at /data: '' when the data stays there. */
function settingsOffClaim(settings: Map<string, ServerSetting>): string {
  const unquote = (v: string): string => v.trim().replace(/^(["'])(.*)\1$/, '$2').trim();
  const dir = settings.get('dir');
  if (dir) {
    const normal = posix.normalize(unquote(dir.value));
    if (normal !== '/data' && !normal.startsWith('/data/')) return `${dir.said} moves the data off the claim at /data; remove it`;
  }
  const save = settings.get('save');
  if (save && unquote(save.value) === '' && unquote(settings.get('appendonly')?.value ?? '').toLowerCase() !== 'yes') {
    return `${save.said} turns snapshots off and no appendonly yes keeps a log, so nothing reaches the claim; remove it`;
  }
  return '';
}

/**
 * KubeDB starts `redis-server /data/default.conf $args`: the redis container's args come after the
 * config file and win over it (kubedb/redis-init-docker on-start.sh), and the claim is at /data.
 */
function kubedbDataOffClaim(spec: JsonObject): string {
  const podSpec = obj(obj(spec['podTemplate'])['spec']);
  const redis = list(podSpec['containers']).map(obj).find((c) => str(c['name']) === 'redis');
  const args = list(redis ? redis['args'] : podSpec['args']).map(str);
  return settingsOffClaim(serverOptions(args, redis ? 'the redis container\'s args' : 'spec.podTemplate.spec.args'));
}

/**
 * Spotahome: spec.redis.command's options override the config file, and the customConfig lines are
 * CONFIG SET once the server runs (see spotahomePasswordLines), so they win over both: `save ""`
 * with no `appendonly yes` keeps nothing, and `dir` elsewhere than the claim's /data writes there.
 */
function spotahomeDataOffClaim(spec: JsonObject): string {
  const redis = obj(spec['redis']);
  const settings = serverOptions(list(redis['command']).map(str), 'spec.redis.command');
  for (const line of list(redis['customConfig']).map(str)) {
    const m = /^\s*(\S+)(?:\s(.*))?$/s.exec(line);
    if (m && m[2] !== undefined) settings.set(m[1]!.toLowerCase(), { value: m[2], said: `spec.redis.customConfig ${JSON.stringify(line)}` });
  }
  return settingsOffClaim(settings);
}

const SENTINEL_KINDS = new Set([`${GROUP_KUBEDB}/RedisSentinel`, `${GROUP_OT}/RedisSentinel`]);

/** The container (its command and args, as the view has them) runs a Sentinel. */
function runsSentinel(c: { args: string[] }): boolean {
  // Every word that counts contains "sentinel": an argument without it (most, and long shell scripts) is not split.
  return c.args.some((a) => a.includes('sentinel') && a.split(/\s+/).some((w) => /(^|\/)(redis|valkey)-sentinel$/.test(w) || w === '--sentinel'));
}

function persistenceOf(view: WorkloadView, object: JsonObject, raw: RawTemplate[]): Practices['persistence'] {
  const none = { applies: false, durable: true, problem: '' };
  // A set an operator owns follows its CR, which is checked instead.
  if (view.role !== 'workload' || view.controlled || SENTINEL_KINDS.has(`${group(view)}/${view.kind}`)) return none;
  // A remote cluster reference keeps no data: it points at a REC elsewhere.
  if (view.enterprise?.object === 'remote-cluster') return none;
  const g = group(view);
  if (view.engine !== 'kubernetes') {
    const spec = obj(object['spec']);
    // A Redis Enterprise database keeps its data on the cluster's volumes only with a persistence
    // policy; the operator's default is disabled.
    const database = view.enterprise?.object === 'database' ? ['spec.persistence', spec['persistence']]
      : view.enterprise?.object === 'active-active' ? ['spec.globalConfigurations.persistence', obj(spec['globalConfigurations'])['persistence']] : null;
    if (database) {
      const [at, value] = database as [string, Json | undefined];
      const policy = str(value);
      if (policy && policy !== 'disabled') return { applies: true, durable: true, problem: '' };
      return { applies: true, durable: false, problem: `${at} is ${policy ? 'disabled' : 'not set (the operator then keeps nothing on disk)'}; set it to aofEverySecond or a snapshot policy (snapshotEvery1Hour)` };
    }
    // Configuration that keeps the data off the claim the CR asks for.
    const offClaim = g === GROUP_OT ? otDataOffClaim(view.kind, spec)
      : g === GROUP_SPOTAHOME ? spotahomeDataOffClaim(spec)
      : g === GROUP_KUBEDB ? kubedbDataOffClaim(spec) : '';
    if (offClaim && view.storage.known && !view.storage.ephemeral) return { applies: true, durable: false, problem: offClaim };
    if (!view.storage.known || !view.storage.ephemeral) return { applies: true, durable: true, problem: '' };
    const problem = g === GROUP_KUBEDB
      ? 'spec.storageType is Ephemeral: the data is lost with the pod; set storageType: Durable with spec.storage (a PersistentVolumeClaim spec)'
      : g === GROUP_OT
        ? 'no spec.storage.volumeClaimTemplate: the data is lost with the pod; add one (and persistenceEnabled: true on a RedisCluster)'
        : g === GROUP_SPOTAHOME
          ? 'spec.redis.storage has no persistentVolumeClaim: the data is on emptyDir and lost with the pod; set spec.redis.storage.persistentVolumeClaim'
          : 'the data is not on a PersistentVolumeClaim and is lost with the pod; configure persistent storage';
    return { applies: true, durable: false, problem };
  }
  // Plain kinds: only replicated or clustered workloads (a replica resyncs from a primary that has
  // restarted empty, and wipes itself).
  if (view.mode !== 'Replicated' && view.mode !== 'Cluster') return none;
  const claimNames = new Set(view.storage.known && !view.storage.ephemeral ? ['*'] : []);
  for (const { pod, spec } of raw) {
    if (pod.containers.every((c) => !c.redis) || pod.containers.some((c) => c.redis && runsSentinel(c))) continue;
    const volumes = new Map(list(spec['volumes']).map(obj).map((v) => [str(v['name']), v]));
    let onClaim = false;
    let other = '';
    for (const c of rawContainers(spec)) {
      if (!pod.containers.some((v) => v.redis && v.name === str(c['name']))) continue;
      for (const m of list(c['volumeMounts']).map(obj)) {
        const v = volumes.get(str(m['name']));
        if (!v) onClaim ||= claimNames.size > 0; // a volumeClaimTemplate
        else if (v['persistentVolumeClaim'] !== undefined) onClaim = true;
        else if (v['emptyDir'] !== undefined && !other) other = `emptyDir ${str(m['name'])} at ${str(m['mountPath'])}`;
      }
    }
    if (!onClaim) {
      const where = other ? `on ${other}` : 'on no volume at all';
      return {
        applies: true,
        durable: false,
        problem: `the Redis data of ${pod.path} is ${where} and is lost with the pod; mount a PersistentVolumeClaim (volumeClaimTemplates on a StatefulSet) at the data directory`,
      };
    }
  }
  return { applies: true, durable: true, problem: '' };
}

// ---- Sentinel quorum -----------------------------------------------------------------------

function sentinelsOf(view: WorkloadView, object: JsonObject): number {
  if (view.role !== 'workload') return 0;
  const g = group(view);
  if (SENTINEL_KINDS.has(`${g}/${view.kind}`)) return view.pods;
  if (g === GROUP_SPOTAHOME) {
    const replicas = obj(obj(object['spec'])['sentinel'])['replicas'];
    return typeof replicas === 'number' ? replicas : 3;
  }
  let n = 0;
  for (const pod of view.podTemplates) {
    if (pod.role === 'sentinel') n += pod.replicas;
    else if (view.engine === 'kubernetes' && pod.containers.some((c) => c.redis && runsSentinel(c))) n += pod.replicas;
  }
  return n;
}

// ---- maxmemory -----------------------------------------------------------------------------

const REDIS_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1000, kb: 1024, m: 1000 ** 2, mb: 1024 ** 2, g: 1000 ** 3, gb: 1024 ** 3,
};

/** A Redis memory size (1gb, 512mb, 100000, 1g); Kubernetes quantities (1Gi) are read too. */
export function redisBytes(text: string): number {
  const m = /^(\d+)([a-z]*)$/i.exec(text.trim());
  if (m) {
    const unit = REDIS_UNITS[m[2]!.toLowerCase()];
    if (unit !== undefined) return Number(m[1]) * unit;
  }
  const q = Quantity.tryParse(text.trim());
  return q ? Number(q.nanos / 1_000_000_000n) : -1;
}

function quantityBytes(text: string): number {
  const q = text ? Quantity.tryParse(text) : undefined;
  return q ? Number(q.nanos / 1_000_000_000n) : -1;
}

const FLAG_ENVS = ['REDIS_EXTRA_FLAGS', 'VALKEY_EXTRA_FLAGS', 'REDIS_ARGS'];
const mentionsMaxmemory = (text: string): boolean => text.includes('--maxmemory');

function fact(where: string, value: string, limit: string, headroom: number): MaxmemoryFact {
  const limitBytes = quantityBytes(limit);
  const allowedBytes = limitBytes < 0 ? -1 : Math.floor((limitBytes * (100 - headroom)) / 100);
  return { where, value, bytes: redisBytes(value), limit, limitBytes, allowedBytes, allowed: allowedBytes < 0 ? '' : `${Math.floor(allowedBytes / MB)}mb` };
}

const MB = 1024 * 1024;

function maxmemoryOf(view: WorkloadView, object: JsonObject, headroom: number): MaxmemoryFact[] {
  const out: MaxmemoryFact[] = [];
  for (const c of view.containers) {
    if (!c.redis) continue;
    const limit = c.resources.limits['memory'] ?? '';
    // Only words that contain the flag yield a value, so sources without it are not split into words.
    const sources: [string, string[]][] = [];
    if (c.args.some(mentionsMaxmemory)) sources.push([`container ${c.name} args`, c.args.flatMap((a) => a.split(/\s+/)).filter(Boolean)]);
    for (const e of FLAG_ENVS) if (c.env[e] && mentionsMaxmemory(c.env[e]!)) sources.push([`container ${c.name} env ${e}`, c.env[e]!.split(/\s+/).filter(Boolean)]);
    for (const [where, list_] of sources) {
      for (const value of flagValues(list_, '--maxmemory')) {
        out.push(fact(where, value, limit, headroom));
      }
    }
  }
  if (group(view) === GROUP_SPOTAHOME) {
    for (const line of list(obj(obj(object['spec'])['redis'])['customConfig']).map(str)) {
      const m = /^\s*maxmemory\s+(\S+)\s*$/i.exec(line);
      if (m) out.push(fact('spec.redis.customConfig', m[1]!, view.memoryLimit, headroom));
    }
  }
  return out;
}

function maxmemoryPercentOf(view: WorkloadView, object: JsonObject): number {
  if (group(view) !== GROUP_OT) return -1;
  const spec = obj(object['spec']);
  const places = [obj(spec['redisConfig']), obj(obj(spec['redisLeader'])['redisConfig']), obj(obj(spec['redisFollower'])['redisConfig'])];
  let most = -1;
  for (const p of places) {
    const v = p['maxMemoryPercentOfLimit'];
    if (typeof v === 'number' && v > most) most = v;
  }
  return most;
}

// ---- probe and lifecycle hosts (Pod Security baseline, 1.34+) ---------------------------------

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'];
const HANDLERS = ['postStart', 'preStop'];

/** Every container-like object anywhere in the object (CRs keep containers in many places). */
function probeHostsOf(object: JsonObject): string[] {
  const out: string[] = [];
  visitProbes(object['spec'], 0, out);
  return out;
}

// A plain recursion (no closure per node): it walks the whole spec of every object reviewed. The
// probe and lifecycle keys are noticed while the node's keys are enumerated anyway, rather than
// looked up by name on every node (absent-key lookups on objects of many shapes were most of its
// cost); a container's own hosts still come before anything found below it.
function visitProbes(node: Json | undefined, depth: number, out: string[]): void {
  if (depth > 24 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) visitProbes(item, depth + 1, out);
    return;
  }
  const below = out.length;
  let handlers = false;
  for (const key in node) {
    if (key === 'livenessProbe' || key === 'readinessProbe' || key === 'startupProbe' || key === 'lifecycle') {
      handlers = true;
      continue;
    }
    const child = node[key];
    if (child !== null && typeof child === 'object') visitProbes(child, depth + 1, out);
  }
  if (!handlers) return;
  const own: string[] = [];
  const name = str(node['name']) || '(unnamed)';
  for (const p of PROBES) {
    if (node[p] !== undefined) probeHosts(node[p], p, name, own);
  }
  const lifecycle = node['lifecycle'];
  if (lifecycle !== undefined) {
    for (const h of HANDLERS) probeHosts(obj(lifecycle)[h], `lifecycle.${h}`, name, own);
  }
  if (own.length > 0) out.splice(below, 0, ...own);
}

function probeHosts(handler: Json | undefined, where: string, name: string, out: string[]): void {
  for (const action of ['httpGet', 'tcpSocket']) {
    const host = str(obj(obj(handler)[action])['host']);
    if (host) out.push(`container ${name} ${where}.${action}.host ${host}`);
  }
}

// ---- storage class -------------------------------------------------------------------------

function storageClassOf(view: WorkloadView, classes: readonly StorageClassInfo[] | undefined): Practices['storageClass'] {
  if (!classes) return { known: false, name: view.storage.storageClass, provisioner: '' };
  const wanted = view.storage.storageClass;
  const found = wanted ? classes.find((c) => c.name === wanted) : classes.find((c) => c.default);
  return { known: true, name: found?.name ?? wanted, provisioner: found?.provisioner ?? '' };
}

// ---- PodDisruptionBudget coverage ------------------------------------------------------------

/** Whether a PDB's selector picks pods with these labels. Allocates nothing: it runs for every candidate PDB (pdb-index.ts), per pod template. */
function selects(selector: PdbInfo['selector'], labels: Record<string, string>): boolean {
  // The selector comes from input files or a watch: read it defensively.
  const matchLabels = obj(selector?.matchLabels as Json | undefined);
  const expressions = list(selector?.matchExpressions as Json | undefined);
  let any = expressions.length > 0;
  for (const k in matchLabels) {
    any = true;
    if (labels[k] !== matchLabels[k]) return false;
  }
  if (!any) return false;
  for (const raw of expressions) {
    const e = obj(raw);
    const key = str(e['key']);
    const has = Object.hasOwn(labels, key);
    const operator = str(e['operator']);
    if (operator === 'In' && !(has && includesValue(e['values'], labels[key]!))) return false;
    if (operator === 'NotIn' && has && includesValue(e['values'], labels[key]!)) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** `values` (as written: a list, or anything) holds `value`, numbers read as their text. */
function includesValue(values: Json | undefined, value: string): boolean {
  for (const v of list(values)) if (str(v) === value) return true;
  return false;
}

function pdbOf(view: WorkloadView, pdbs: readonly PdbInfo[] | undefined): Practices['pdb'] {
  if (!pdbs) return { known: false, covering: [], uncovered: [] };
  const covering = new Set<string>();
  const uncovered: Practices['pdb']['uncovered'] = [];
  view.podTemplates.forEach((pod, i) => {
    const mine = pdbCandidates(pdbs, pod.labels).filter((p) => (!p.namespace || !view.namespace || p.namespace === view.namespace) && selects(p.selector, pod.labels));
    for (const p of mine) covering.add(p.name);
    if (mine.length === 0 && pod.replicas > 1) {
      const suffix = view.podTemplates.length > 1 ? `-${pod.role || i}` : '';
      uncovered.push({ path: pod.path, name: `${view.name}${suffix}`, selector: pod.selectorLabels });
    }
  });
  return { known: true, covering: [...covering], uncovered };
}
