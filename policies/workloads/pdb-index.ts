// The PodDisruptionBudgets that may select a pod template, without testing every PDB of the
// namespace for every template: `redline review` of a repository passes each namespace's whole
// list with every object of that namespace, so the plain filter was quadratic in the PDBs of a
// namespace. An index, built once per list, picks the candidates by one of each PDB's matchLabels;
// the caller still tests each candidate in full, so the index only ever leaves out PDBs that cannot
// match.

import type { PdbInfo } from '../engine/types.js';

/** Below this many PDBs a list is scanned whole: building an index would cost more than it saves. */
const INDEX_FROM = 8;

interface PdbIndex {
  /** The list's length when indexed: a list that changed since is indexed again. */
  size: number;
  /** matchLabels key → value → positions of the PDBs indexed by that pair, ascending. */
  byLabel: Map<string, Map<string, number[]>>;
  /** Positions of the PDBs without a string-valued matchLabels entry (only the full test decides them). */
  rest: number[];
}

// Keyed by the list itself: review and serve pass the same array for every object of a namespace.
const indexes = new WeakMap<readonly PdbInfo[], PdbIndex>();

/**
 * The PDBs of `pdbs` that may select pods labelled `labels`, in list order: a superset of those
 * whose selector does (a PDB selects only pods that carry every one of its matchLabels).
 */
export function pdbCandidates(pdbs: readonly PdbInfo[], labels: Record<string, string>): readonly PdbInfo[] {
  if (pdbs.length < INDEX_FROM) return pdbs;
  let index = indexes.get(pdbs);
  if (!index || index.size !== pdbs.length) indexes.set(pdbs, (index = indexOf(pdbs)));
  const positions = index.rest.slice();
  for (const key in labels) {
    const hit = index.byLabel.get(key)?.get(labels[key]!);
    if (hit) for (const i of hit) positions.push(i);
  }
  positions.sort((a, b) => a - b);
  return positions.map((i) => pdbs[i]!);
}

function indexOf(pdbs: readonly PdbInfo[]): PdbIndex {
  const byLabel = new Map<string, Map<string, number[]>>();
  const rest: number[] = [];
  pdbs.forEach((p, i) => {
    const pair = firstStringLabel(p.selector?.matchLabels);
    if (!pair) {
      rest.push(i);
      return;
    }
    let values = byLabel.get(pair[0]);
    if (!values) byLabel.set(pair[0], (values = new Map()));
    const positions = values.get(pair[1]);
    if (positions) positions.push(i);
    else values.set(pair[1], [i]);
  });
  return { size: pdbs.length, byLabel, rest };
}

/** The first own key of a matchLabels object whose value is a string (the selector is read defensively: it comes from input). */
function firstStringLabel(matchLabels: unknown): [string, string] | null {
  if (matchLabels === null || typeof matchLabels !== 'object' || Array.isArray(matchLabels)) return null;
  for (const [key, value] of Object.entries(matchLabels)) if (typeof value === 'string') return [key, value];
  return null;
}
