// Top functions by self time in a V8 .cpuprofile (from `npm run bench -- --profile DIR`); with --total, by total
// time (itself and what it called, each sample counted once per function).
// Usage: node dist/bench/profile-summary.js FILE.cpuprofile [count] [--total]

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export function summarize(profile: Profile, count = 20): string[] {
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + hits);
    total += hits;
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  const lines = [`${total} samples over ${seconds.toFixed(1)} s; self time:`];
  for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    lines.push(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
  return lines;
}

const keyOf = ({ callFrame: { functionName, url, lineNumber } }: ProfileNode) =>
  `${functionName || '(anonymous)'} ${url ? `${basename(url)}:${lineNumber + 1}` : ''}`.trim();

/** Top functions by total time: the samples in which they are anywhere on the stack. */
export function summarizeTotal(profile: Profile, count = 20): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) seen.add(keyOf(byId.get(id)!));
    for (const key of seen) totals.set(key, (totals.get(key) ?? 0) + hits);
  }
  const lines = [`${total} samples; total time (self and callees):`];
  for (const [key, hits] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    lines.push(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
  return lines;
}

if (process.argv[1] && basename(process.argv[1]) === 'profile-summary.js') {
  const wantTotal = process.argv.includes('--total');
  const [file, count] = process.argv.slice(2).filter((arg) => arg !== '--total');
  if (!file) {
    console.error('usage: node dist/bench/profile-summary.js FILE.cpuprofile [count]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  console.log((wantTotal ? summarizeTotal : summarize)(profile, Number(count ?? 20)).join('\n'));
}
