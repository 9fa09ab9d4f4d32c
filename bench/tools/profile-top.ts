// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most
// self time, and self time per file, so a profile can be read without DevTools.
//   node bench/tools/profile-top.ts <file.cpuprofile> [--top=25] [--callers=functionName]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/tools/profile-top.ts <file.cpuprofile> [--top=25]');
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const short = (url: string) =>
  url.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, '$1/').replace(/^node:/, 'node:');
const fnSelf = new Map<string, number>();
const fileSelf = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'}  ${short(f.url)}:${f.lineNumber + 1}`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  const fk = f.url ? short(f.url) : f.functionName;
  fileSelf.set(fk, (fileSelf.get(fk) ?? 0) + us);
}
const pct = (us: number) =>
  `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms`;
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nself time by function:`);
for (const [k, us] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(us)}  ${k}`);
console.log('\nself time by file:');
for (const [k, us] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(us)}  ${k}`);

// --callers=name: where the self time of `name` comes from (caller chains, 6 frames up).
const callers = process.argv.find((a) => a.startsWith('--callers='))?.slice(10);
if (callers) {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const chains = new Map<string, number>();
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName !== callers) continue;
    const names: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && names.length < 6; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      names.push(`${f.functionName || '(anonymous)'}@${short(f.url).split('/').pop()}:${f.lineNumber + 1}`);
    }
    const k = names.join(' < ');
    chains.set(k, (chains.get(k) ?? 0) + us);
  }
  console.log(`\ncallers of ${callers}:`);
  for (const [k, us] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(us)}  ${k}`);
}
