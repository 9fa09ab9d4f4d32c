// Summarises a V8 .heapsnapshot (from `--heapsnapshot-signal`, `v8.writeHeapSnapshot()` or
// the inspector's HeapProfiler.takeHeapSnapshot) without DevTools: self size by node type
// and by constructor, retained size by constructor (objects not dominated by another of
// the same constructor, as DevTools' "Summary" view does), and the single objects that
// retain the most, each with its chain of dominators (what keeps it alive).
//   node bench/tools/heap-top.ts <file.heapsnapshot> [--top=25]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
    node_count: number;
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapRow {
  name: string;
  count: number;
  self: number;
  retained: number;
}

export interface HeapTop {
  name: string;
  self: number;
  retained: number;
  /** what keeps it alive: its immediate dominator, then that one's, … */
  dominators: string[];
}

export interface HeapSummary {
  nodes: number;
  totalSelf: number;
  byType: HeapRow[];
  byConstructor: HeapRow[];
  top: HeapTop[];
}

/** Computes the summary; `top` rows per table. */
export function summarizeHeapSnapshot(s: Snapshot, top = 25): HeapSummary {
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const NF = nf.length;
  const EF = ef.length;
  const fType = nf.indexOf('type');
  const fName = nf.indexOf('name');
  const fSelf = nf.indexOf('self_size');
  const fEdges = nf.indexOf('edge_count');
  const eType = ef.indexOf('type');
  const eTo = ef.indexOf('to_node');
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const N = s.nodes.length / NF;
  const nodes = s.nodes;
  const edges = s.edges;

  // Edges out of each node, as a CSR over the snapshot's own edge order.
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0, e = 0; i < N; i++) {
    firstEdge[i] = e;
    e += nodes[i * NF + fEdges]! * EF;
    firstEdge[i + 1] = e;
  }
  const strong = (e: number) => {
    const t = edges[e + eType];
    return t !== weak && t !== shortcut;
  };

  // Depth-first post-order from the root (node 0) over strong edges.
  const order = new Int32Array(N).fill(-1); // post-order number
  const byOrder = new Uint32Array(N);
  const stack = new Uint32Array(N);
  const edgeCursor = new Uint32Array(N);
  const visited = new Uint8Array(N);
  let sp = 0;
  let count = 0;
  stack[sp++] = 0;
  visited[0] = 1;
  edgeCursor[0] = firstEdge[0]!;
  while (sp > 0) {
    const v = stack[sp - 1]!;
    const end = firstEdge[v + 1]!;
    let pushed = false;
    while (edgeCursor[v]! < end) {
      const e = edgeCursor[v]!;
      edgeCursor[v] = e + EF;
      if (!strong(e)) continue;
      const w = edges[e + eTo]! / NF;
      if (visited[w]) continue;
      visited[w] = 1;
      edgeCursor[w] = firstEdge[w]!;
      stack[sp++] = w;
      pushed = true;
      break;
    }
    if (!pushed) {
      sp--;
      order[v] = count;
      byOrder[count++] = v;
    }
  }

  // Predecessors (strong edges between reachable nodes), as a CSR.
  const predCount = new Uint32Array(N + 1);
  for (let v = 0; v < N; v++) {
    if (!visited[v]) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF)
      if (strong(e)) predCount[edges[e + eTo]! / NF + 1]!++;
  }
  for (let i = 0; i < N; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Uint32Array(predCount[N]!);
  const fill = predCount.slice(0, N);
  for (let v = 0; v < N; v++) {
    if (!visited[v]) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF)
      if (strong(e)) {
        const w = edges[e + eTo]! / NF;
        preds[fill[w]!++] = v;
      }
  }

  // Immediate dominators (Cooper, Harvey & Kennedy), iterated in reverse post-order.
  const UNDEF = 0xffffffff;
  const idom = new Uint32Array(N).fill(UNDEF); // indexed by post-order number
  const root = order[0]!;
  idom[root] = root;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (a < b) a = idom[a]!;
      while (b < a) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let o = count - 1; o >= 0; o--) {
      if (o === root) continue;
      const v = byOrder[o]!;
      let d = UNDEF;
      for (let p = predCount[v]!; p < predCount[v + 1]!; p++) {
        const po = order[preds[p]!]!;
        if (idom[po] === UNDEF) continue;
        d = d === UNDEF ? po : intersect(po, d);
      }
      if (d !== UNDEF && idom[o] !== d) {
        idom[o] = d;
        changed = true;
      }
    }
  }

  // Retained sizes: each node's self size added to its dominators, children before parents.
  const retained = new Float64Array(N);
  for (let o = 0; o < count; o++) {
    const v = byOrder[o]!;
    retained[v]! += nodes[v * NF + fSelf]!;
    if (o !== root) retained[byOrder[idom[o]!]!]! += retained[v]!;
  }

  const typeOf = (v: number) => nodeTypes[nodes[v * NF + fType]!]!;
  const label = (v: number) => {
    const t = typeOf(v);
    const n = s.strings[nodes[v * NF + fName]!]!;
    if (t === 'object' || t === 'native') return n;
    if (t === 'closure') return `${n || '(anonymous)'}()`;
    if (t === 'hidden' || t === 'synthetic' || t === 'object shape') return n.startsWith('(') ? n : `(${n})`;
    return `(${t})`;
  };

  const byType = new Map<string, HeapRow>();
  const byCtor = new Map<string, HeapRow>();
  let totalSelf = 0;
  for (let o = 0; o < count; o++) {
    const v = byOrder[o]!;
    const self = nodes[v * NF + fSelf]!;
    totalSelf += self;
    const t = typeOf(v);
    const tr = byType.get(t) ?? { name: t, count: 0, self: 0, retained: 0 };
    tr.count++;
    tr.self += self;
    byType.set(t, tr);
    const name = label(v);
    const cr = byCtor.get(name) ?? { name, count: 0, self: 0, retained: 0 };
    cr.count++;
    cr.self += self;
    // Retained by a constructor: only objects not dominated by another of the same name.
    let dominatedBySame = false;
    for (let d = idom[o]!, hops = 0; d !== root && hops < 64; d = idom[d]!, hops++)
      if (label(byOrder[d]!) === name) {
        dominatedBySame = true;
        break;
      }
    if (!dominatedBySame) cr.retained += retained[v]!;
    byCtor.set(name, cr);
  }

  // The single objects retaining the most (not the root and its synthetic groups).
  const candidates: number[] = [];
  for (let o = 0; o < count; o++) {
    const v = byOrder[o]!;
    const t = typeOf(v);
    if (v === 0 || t === 'synthetic') continue;
    candidates.push(v);
  }
  candidates.sort((a, b) => retained[b]! - retained[a]!);
  const topNodes: HeapTop[] = [];
  for (const v of candidates) {
    if (topNodes.length >= top) break;
    // Skip a node whose dominator is already listed with (almost) the same retained size.
    const d = byOrder[idom[order[v]!]!]!;
    if (d !== 0 && retained[d]! - retained[v]! < 64 * 1024 && typeOf(d) !== 'synthetic') continue;
    const chain: string[] = [];
    for (let o = idom[order[v]!]!, hops = 0; o !== root && hops < 6; o = idom[o]!, hops++)
      chain.push(label(byOrder[o]!));
    topNodes.push({
      name: label(v),
      self: nodes[v * NF + fSelf]!,
      retained: retained[v]!,
      dominators: chain,
    });
  }

  const sortRows = (m: Map<string, HeapRow>, key: 'self' | 'retained') =>
    [...m.values()].sort((a, b) => b[key] - a[key]);
  return {
    nodes: count,
    totalSelf,
    byType: sortRows(byType, 'self'),
    byConstructor: sortRows(byCtor, 'self').slice(0, top),
    top: topNodes,
  };
}

export function readHeapSnapshot(file: string): Snapshot {
  return JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
}

const kib = (b: number) => `${(b / 1024).toFixed(0).padStart(8)} KiB`;

export function printHeapSummary(h: HeapSummary): void {
  console.log(
    `${h.nodes} reachable nodes, ${(h.totalSelf / 2 ** 20).toFixed(1)} MiB\n\nself size by node type:`,
  );
  for (const r of h.byType) console.log(`  ${kib(r.self)}  ${String(r.count).padStart(8)}  ${r.name}`);
  console.log('\nby constructor (self, retained, count):');
  for (const r of h.byConstructor)
    console.log(`  ${kib(r.self)}  ${kib(r.retained)}  ${String(r.count).padStart(8)}  ${r.name}`);
  console.log('\nobjects retaining the most (retained, self: name ← dominators):');
  for (const t of h.top)
    console.log(`  ${kib(t.retained)}  ${kib(t.self)}  ${t.name} ← ${t.dominators.join(' ← ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/tools/heap-top.ts <file.heapsnapshot> [--top=25]');
  const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
  printHeapSummary(summarizeHeapSnapshot(readHeapSnapshot(file), top));
}
