// Top functions by self time in a V8 .cpuprofile (from `npm run bench -- --profile DIR`).
// Usage: node dist/bench/profile-summary.js FILE.cpuprofile [count]

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
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

if (process.argv[1] && basename(process.argv[1]) === 'profile-summary.js') {
  const [file, count] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/profile-summary.js FILE.cpuprofile [count]');
    process.exit(2);
  }
  console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(count ?? 20)).join('\n'));
}
