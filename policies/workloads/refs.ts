// References out of an object that policies judge: `namespace` fields anywhere under spec (a
// tenant must not point its operator at another namespace) and cert-manager issuer references.

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
      out.push({ path: `${trail.join('.').replace(/\.\[/g, '[')}.namespace`, namespace: String(child) });
    } else if (child !== null && typeof child === 'object') {
      trail.push(key);
      walk(child, trail, out);
      trail.pop();
    }
  }
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
