// The adapters' view of an object and its practices, for tests that judge one object directly.

import type { JsonObject } from '../../policies/engine/types.js';
import { recognise, type WorkloadView } from '../../policies/workloads/index.js';
import { practicesOf, type Practices } from '../../policies/workloads/practices.js';

/** The object's view; throws when the adapters do not recognise it as Redis. */
export function viewOf(object: JsonObject): WorkloadView {
  const r = recognise(object);
  if (!r.redis) throw new Error(r.reason);
  return r.result.view;
}

/** What practices.ts makes of the object, with no cluster inputs. */
export function practices(object: JsonObject): Practices {
  return practicesOf(viewOf(object), object);
}
