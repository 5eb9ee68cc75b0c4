// Builds the npm package from the files the server serves, without moving them: copies
// web/static/podium.js and every module it reaches (imports, and the E2EE worker it loads by
// URL) into dist/, then emits their .d.ts into types/ with tsc. npm pack runs it (prepack).
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, '..', 'static');
const dist = join(here, 'dist');

// Relative module references: static and dynamic imports, re-exports, new URL('./x.js', …).
const refs = /(?:from\s*|import\s*\(\s*|new URL\(\s*)'(\.\/[\w.-]+\.js)'/g;
const seen = new Set();
const queue = ['podium.js'];
while (queue.length) {
  const name = queue.shift();
  if (seen.has(name)) continue;
  seen.add(name);
  for (const m of readFileSync(join(src, name), 'utf8').matchAll(refs)) queue.push(m[1].slice(2));
}

rmSync(dist, { recursive: true, force: true });
rmSync(join(here, 'types'), { recursive: true, force: true });
mkdirSync(dist);
for (const name of [...seen].sort()) writeFileSync(join(dist, name), readFileSync(join(src, name)));
const tsc = join(here, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', here], { stdio: 'inherit' });
console.log(`dist/: ${[...seen].sort().join(' ')}`);
