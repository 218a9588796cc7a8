// A thin HTTPS client for the isolation e2e suite: one token identity, raw API paths (subresources
// such as namespaces/status too), and the whole answer — status, message and the `Warning` headers
// that admission warnings arrive in. Never throws on an HTTP error status: the tests assert on it.
import https from 'node:https';

export interface Answer {
  status: number;
  body: any;
  /** The Status message of a failed request ('' on success). */
  message: string;
  /** The texts of `Warning: 299 - "..."` headers. */
  warnings: string[];
}

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/** `Warning` header values: `299 - "text"` (RFC 7234), several per header joined by commas. */
export function parseWarnings(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const out: string[] = [];
  for (const h of Array.isArray(header) ? header : [header]) {
    const re = /\d{3} \S+ "((?:[^"\\]|\\.)*)"/g;
    for (let m = re.exec(h); m; m = re.exec(h)) out.push(m[1]!.replace(/\\(.)/g, '$1'));
  }
  return out;
}

export class ApiClient {
  private readonly agent: https.Agent;

  constructor(
    readonly user: string,
    private readonly server: string,
    private readonly token: string,
    caPem: string,
  ) {
    this.agent = new https.Agent({ ca: caPem, keepAlive: true, maxSockets: 8 });
  }

  request(method: string, path: string, body?: unknown, opts: { patch?: PatchType; dryRun?: boolean } = {}): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(`${this.server}${path}`);
    if (opts.dryRun) url.searchParams.set('dryRun', 'All');
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${this.token}` };
    if (payload !== undefined) headers['Content-Type'] = opts.patch ? PATCH_TYPES[opts.patch] : 'application/json';
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.agent, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          const status = res.statusCode ?? 0;
          const message = status >= 400 ? String((parsed as { message?: string } | undefined)?.message ?? text) : '';
          resolve({ status, body: parsed, message, warnings: parseWarnings(res.headers['warning']) });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }
  create(path: string, body: unknown, dryRun = false): Promise<Answer> {
    return this.request('POST', path, body, { dryRun });
  }
  put(path: string, body: unknown): Promise<Answer> {
    return this.request('PUT', path, body);
  }
  patch(path: string, body: unknown, patch: PatchType = 'merge'): Promise<Answer> {
    return this.request('PATCH', path, body, { patch });
  }
  delete(path: string): Promise<Answer> {
    return this.request('DELETE', path);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Throws with the API server's message unless the answer is a success. */
export function ok(a: Answer, what: string): Answer {
  if (a.status < 200 || a.status > 299) throw new Error(`${what}: HTTP ${a.status}: ${a.message || JSON.stringify(a.body)}`);
  return a;
}

/** `/api/v1/...` or `/apis/<group>/<version>/...` for a resource (namespaced when `ns` is given). */
export function path(apiVersion: string, plural: string, ns?: string, name?: string, sub?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${ns ? `/namespaces/${ns}` : ''}/${plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
}

export const P = {
  namespaces: (name?: string, sub?: string): string => path('v1', 'namespaces', undefined, name, sub),
  pods: (ns: string, name?: string): string => path('v1', 'pods', ns, name),
  secrets: (ns: string, name?: string): string => path('v1', 'secrets', ns, name),
  serviceAccounts: (ns: string, name?: string): string => path('v1', 'serviceaccounts', ns, name),
  quotas: (ns: string, name?: string, sub?: string): string => path('v1', 'resourcequotas', ns, name, sub),
  limitRanges: (ns: string, name?: string): string => path('v1', 'limitranges', ns, name),
  kubedbRedis: (ns: string, name?: string): string => path('kubedb.com/v1', 'redises', ns, name),
  otRedis: (ns: string, name?: string): string => path('redis.redis.opstreelabs.in/v1beta2', 'redis', ns, name),
  otReplication: (ns: string, name?: string): string => path('redis.redis.opstreelabs.in/v1beta2', 'redisreplications', ns, name),
  statefulSets: (ns: string, name?: string): string => path('apps/v1', 'statefulsets', ns, name),
  petSets: (ns: string, name?: string): string => path('apps.k8s.appscode.com/v1', 'petsets', ns, name),
  deployments: (ns: string, name?: string): string => path('apps/v1', 'deployments', ns, name),
  pdbs: (ns: string, name?: string): string => path('policy/v1beta1', 'poddisruptionbudgets', ns, name),
  certificates: (ns: string, name?: string): string => path('cert-manager.io/v1', 'certificates', ns, name),
  issuers: (ns: string, name?: string): string => path('cert-manager.io/v1', 'issuers', ns, name),
  roleBindings: (ns: string, name?: string): string => path('rbac.authorization.k8s.io/v1', 'rolebindings', ns, name),
  roles: (ns: string, name?: string): string => path('rbac.authorization.k8s.io/v1', 'roles', ns, name),
  clusterRoles: (name?: string): string => path('rbac.authorization.k8s.io/v1', 'clusterroles', undefined, name),
  clusterRoleBindings: (name?: string): string => path('rbac.authorization.k8s.io/v1', 'clusterrolebindings', undefined, name),
};
