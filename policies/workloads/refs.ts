// References out of an object that policies judge: `namespace` fields anywhere under spec (a
// tenant must not point its operator at another namespace) and cert-manager issuer references.
// Besides `namespace: x`, a spec reaches other namespaces through a list `namespaces: [x]` and a
// `namespaceSelector` (pod affinity terms: a required anti-affinity over every namespace keeps other
// tenants' new pods out of a zone, a required affinity probes for their pods) and through KubeDB's
// `allowedSchemas.namespaces.from` (All or Selector lets other namespaces use the database). Those
// are reported with the namespace "*" (any) or "from <value>", which is never the object's own.

import type { Json } from '../engine/types.js';
import { type IssuerRefView, type NamespaceRefView, obj, str } from './view.js';

/** Deeper than any real spec; bounds the walk on hostile input. */
const MAX_DEPTH = 48;

/** Every key named `namespace` under `value`, with its dotted path (arrays as [i]). */
export function namespaceRefs(value: Json | undefined, path: string, out: NamespaceRefView[] = []): NamespaceRefView[] {
  walk(value, [path], out);
  return out;
}

/** Path strings are built only for what is found: most of a spec has no `namespace` key. */
function walk(value: Json | undefined, trail: string[], out: NamespaceRefView[]): void {
  if (value === null || typeof value !== 'object' || trail.length > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child = value[i];
      if (child === null || typeof child !== 'object') continue;
      trail.push(`[${i}]`);
      walk(child, trail, out);
      trail.pop();
    }
    return;
  }
  for (const key in value) {
    const child = value[key];
    if (key === 'namespace' && (typeof child === 'string' || typeof child === 'number')) {
      out.push({ path: `${here(trail)}.namespace`, namespace: String(child) });
    } else if (key === 'namespaces' && Array.isArray(child)) {
      child.forEach((ns, i) => {
        if (typeof ns === 'string') out.push({ path: `${here(trail)}.namespaces[${i}]`, namespace: ns });
      });
    } else if (key === 'namespaceSelector' && child !== null && typeof child === 'object' && !Array.isArray(child)) {
      out.push({ path: `${here(trail)}.namespaceSelector`, namespace: '*' });
    } else if (key === 'namespaces' && child !== null && typeof child === 'object' && !Array.isArray(child)
      && typeof child['from'] === 'string' && child['from'] !== 'Same') {
      out.push({ path: `${here(trail)}.namespaces.from`, namespace: `from ${child['from']}` });
    } else if (child !== null && typeof child === 'object') {
      trail.push(key);
      walk(child, trail, out);
      trail.pop();
    }
  }
}

function here(trail: string[]): string {
  return trail.join('.').replace(/\.\[/g, '[');
}

/** An issuerRef as cert-manager reads it: group from `group` or KubeDB's `apiGroup`, kind Issuer by default. */
export function issuerRef(raw: Json | undefined, path: string): IssuerRefView {
  const ref = obj(raw);
  return {
    path,
    group: str(ref['group']) || str(ref['apiGroup']),
    kind: str(ref['kind']) || 'Issuer',
    name: str(ref['name']),
  };
}
